//! Parts of pages: the node list, the graph view, the run panel, results, charts, the iteration table.
pub mod charts;
pub mod correlations;
pub mod graph;
pub mod node_list;
pub mod results;
pub mod run_panel;
pub mod samples;
