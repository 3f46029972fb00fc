//! The host's shape (issue 10): small files, and one place that builds the
//! keyring connection and the API client.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().map(|e| e == "rs").unwrap_or(false) {
            out.push(path);
        }
    }
}

fn all_sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// A file's lines before its unit tests.
fn code_of(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    }
}

#[test]
fn no_source_file_is_over_400_lines_without_its_tests() {
    for (path, text) in all_sources() {
        let lines = code_of(&text).lines().count();
        assert!(lines <= 400, "{} has {} lines", path.display(), lines);
    }
}

#[test]
fn only_services_connects_the_keyring_and_builds_the_api_client() {
    for (path, text) in all_sources() {
        let code = code_of(&text);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for call in ["Secrets::connect()", "ApiClient::new(", "Vault::open("] {
            if code.contains(call) {
                assert!(
                    matches!(name.as_str(), "services.rs" | "doctor.rs" | "cli.rs"),
                    "{} calls {}",
                    path.display(),
                    call
                );
            }
        }
    }
}
