//! Prints the example files of `SPEC.md` as hex dumps, or writes sample
//! files (the fuzzers' seed corpus) into a directory.
//!
//! ```text
//! cargo run -p codec-format --example dump                   # hex dumps
//! cargo run -p codec-format --example dump -- --write DIR    # sample files
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use codec_format::{Container, Section, SectionKind};

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let mut multi = common::spec_example();
    multi.header.height = 100; // 2×2 tiles of 64×64
    multi.tiles.extend(multi.tiles.clone());
    multi.tiles[3].sections.push(Section {
        kind: SectionKind::Unknown(200),
        data: vec![42; 3],
    });
    let bytes = |c: Container| c.to_bytes().expect("valid sample");
    vec![
        ("spec_example.ansel", bytes(common::spec_example())),
        ("minimal.ansel", bytes(common::minimal())),
        ("multi_tile.ansel", bytes(multi)),
        ("metadata.ansel", bytes(common::metadata_example())),
        ("version_1_2.ansel", common::newer_minor_example()),
    ]
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            for (name, bytes) in samples() {
                println!(
                    "{name} ({} bytes):\n{}",
                    bytes.len(),
                    common::hexdump(&bytes)
                );
            }
        }
        [flag, dir] if flag == "--write" => {
            std::fs::create_dir_all(dir)?;
            for (name, bytes) in samples() {
                std::fs::write(std::path::Path::new(dir).join(name), bytes)?;
            }
        }
        _ => eprintln!("usage: dump [--write DIR]"),
    }
    Ok(())
}
