//! README.md stays true: its architecture table is the one the code generates.

#[test]
fn readme_architecture_table_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = hf2mlx::arch::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's architecture table is stale; replace it with the output of \
         `cargo run -- architectures --markdown`"
    );
}
