//! The example models of `examples/`, built into the app.

/// `(title, JSON)` of each example.
pub const EXAMPLES: [(&str, &str); 5] = [
    ("Startup plan", include_str!("../../examples/startup.json")),
    (
        "Supply chain landed cost",
        include_str!("../../examples/supply_chain.json"),
    ),
    (
        "Investment portfolio",
        include_str!("../../examples/portfolio.json"),
    ),
    (
        "Project schedule",
        include_str!("../../examples/project_schedule.json"),
    ),
    (
        "Retail pricing (correlated inputs)",
        include_str!("../../examples/retail_pricing.json"),
    ),
];

#[cfg(test)]
mod tests {
    #[test]
    fn examples_compile() {
        for (title, json) in super::EXAMPLES {
            let spec = scenarioforge_core::ModelSpec::from_json(json).expect(title);
            assert!(crate::edit::diagnostics(&spec).is_empty(), "{title}");
        }
    }
}
