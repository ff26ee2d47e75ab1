//! A plain-text article (title line, standfirst, guessed headings and lists) with TOML front
//! matter, parsed as a file of `content/` is.

#![no_main]

use std::path::Path;

use articlebot::content::Format;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    common::article(Path::new("fuzz.txt"), Format::PlainText, &text);
});
