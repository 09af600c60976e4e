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

#[test]
fn readme_vision_language_table_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&hf2mlx::arch::vlm::markdown_table()),
        "README.md's vision-language table is stale; replace it with the second table of \
         `cargo run -- architectures --markdown`"
    );
}

#[test]
fn readme_speech_table_is_current() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&hf2mlx::arch::audio::markdown_table()),
        "README.md's speech table is stale; replace it with the third table of \
         `cargo run -- architectures --markdown`"
    );
}
