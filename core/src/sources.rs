//! The sources of randomness of a model: every distribution draw, whether it is a node's
//! whole formula or inline in one, and which of them each output depends on. These are an
//! output's drivers: a node that only combines draws (`rework = second_round * testing +
//! normal(5, 2)`) is not one, so its share is never counted on top of theirs.

use crate::compile::Model;
use crate::eval::{Op, Program};

/// One draw site of the model.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The node whose formula makes the draw.
    pub node: usize,
    /// The draw as written (`normal(5, 2)`, `1000 to 5000`).
    pub text: String,
    /// The draw is the node's whole formula: its values are the node's.
    pub whole: bool,
    /// The column its values are in at the end of a chunk: the node's when `whole`, else a
    /// column of its own that nothing else writes.
    pub slot: usize,
    /// Its parameters vary by iteration (they depend on other nodes).
    pub varying: bool,
}

/// Which sources each of `outputs` (node columns) depends on, in source order, following
/// every instruction back from the output to the draws it reads.
pub fn upstream(program: &Program, sources: &[Source], outputs: &[usize]) -> Vec<Vec<usize>> {
    let instrs = &program.instrs;
    // For each instruction, the instructions that wrote its operands at the time it ran
    // (columns are reused, so "the writer of a column" depends on when it is read).
    let mut writer: Vec<Option<usize>> = vec![None; program.slots];
    let mut feeds: Vec<Vec<usize>> = Vec::with_capacity(instrs.len());
    for (k, instr) in instrs.iter().enumerate() {
        feeds.push(
            instr
                .op
                .reads()
                .into_iter()
                .filter_map(|slot| writer[slot])
                .collect(),
        );
        writer[instr.out] = Some(k);
    }
    // The source each draw instruction is: sources are found by the column they end in,
    // which their draw instruction is the last to write.
    let mut source_of: Vec<Option<usize>> = vec![None; instrs.len()];
    for (s, source) in sources.iter().enumerate() {
        if let Some(k) = writer[source.slot]
            && matches!(instrs[k].op, Op::Draw { .. })
        {
            source_of[k] = Some(s);
        }
    }
    let mut seen = vec![usize::MAX; instrs.len()];
    outputs
        .iter()
        .enumerate()
        .map(|(o, &node)| {
            let mut found = Vec::new();
            let mut stack: Vec<usize> = writer[node].into_iter().collect();
            while let Some(k) = stack.pop() {
                if seen[k] == o {
                    continue;
                }
                seen[k] = o;
                found.extend(source_of[k]);
                stack.extend(&feeds[k]);
            }
            found.sort_unstable();
            found
        })
        .collect()
}

impl Model {
    /// The columns a sample row holds: every node's, then each inline draw's (which the
    /// drivers of an output are ranked on, and which no table shows).
    pub fn sample_slots(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .chain(self.sources.iter().filter(|s| !s.whole).map(|s| s.slot))
            .collect()
    }

    /// Where each source's value is in a sample row.
    pub fn sample_positions(&self) -> Vec<usize> {
        let mut inline = self.nodes.len();
        self.sources
            .iter()
            .map(|s| {
                if s.whole {
                    s.node
                } else {
                    inline += 1;
                    inline - 1
                }
            })
            .collect()
    }

    /// For each source, the other sources its parameters depend on (none for a draw with
    /// constant parameters).
    pub fn source_parents(&self) -> Vec<Vec<usize>> {
        let slots: Vec<usize> = self.sources.iter().map(|s| s.slot).collect();
        upstream(&self.program, &self.sources, &slots)
            .into_iter()
            .enumerate()
            .map(|(s, mut up)| {
                up.retain(|&p| p != s);
                up
            })
            .collect()
    }
}
