//! Small non-secret files the host keeps beside the vault (the status
//! cache, the web app consents, whose trusted-device token it holds).

use std::path::Path;

use serde::Serialize;

/// Atomic replace (unique temp file, then rename) of a small JSON file,
/// readable by this OS user only, so concurrent host processes each leave
/// a whole file and readers never see half of one. Blocking.
pub(crate) fn write_json_private<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!("{}.{}.tmp", name, std::process::id()));
    write_private(&tmp, &json)?;
    std::fs::rename(&tmp, path)
}

/// The email is not secret but it is personal: readable by this OS user
/// only, like the vault.
#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}
