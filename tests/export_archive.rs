//! The export archive is a ZIP that another implementation (Python's `zipfile`) reads: names,
//! sizes and contents as written, and an entry past 4 GiB, which needs ZIP64. The large file
//! is sparse, so it takes no disk; it deflates to a few megabytes.

mod common;

use common::sha256;
use repro::review::zip::Archive;
use std::io::Write;

const BIG: u64 = (1 << 32) + 3;

/// Python's reading of the archive: one line per entry, `name size crc sha256-of-content`
/// (content hashed only for small entries; the big one is checked by size and CRC).
const LIST: &str = r#"
import hashlib, sys, zipfile, zlib
with zipfile.ZipFile(sys.argv[1]) as z:
    for i in z.infolist():
        digest = hashlib.sha256(z.read(i)).hexdigest() if i.file_size < 1 << 20 else "-"
        print(i.filename, i.file_size, "%08x" % i.CRC, digest, i.date_time[0])
"#;

/// CRC-32 of `n` zero bytes followed by `tail`, computed in pieces as zlib allows.
fn crc_of_zeros_then(n: u64, tail: &[u8]) -> u32 {
    let block = vec![0u8; 1 << 20];
    let mut crc = flate2::Crc::new();
    let mut left = n;
    while left > 0 {
        let take = left.min(block.len() as u64) as usize;
        crc.update(&block[..take]);
        left -= take as u64;
    }
    crc.update(tail);
    crc.sum()
}

#[test]
fn entries_past_4_gib_are_written_with_zip64_and_read_back_by_python() {
    let python = std::env::var("REPRO_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    {
        // A hole of 4 GiB, then three bytes: the file reads as zeros but takes no blocks.
        let mut f = std::fs::File::create(&big).unwrap();
        f.set_len(BIG - 3).unwrap();
        std::io::Seek::seek(&mut f, std::io::SeekFrom::End(0)).unwrap();
        f.write_all(b"end").unwrap();
    }
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "a small file\n").unwrap();
    let zip_path = dir.path().join("out.zip");
    let file = std::fs::File::create(&zip_path).unwrap();
    let mut archive = Archive::new(std::io::BufWriter::new(file));
    archive.add_bytes("notes/a.json", b"{\"a\": 1}").unwrap();
    let added_small = archive.add_file("small.txt", &small).unwrap();
    let added_big = archive.add_file("activations/big.bin", &big).unwrap();
    archive.finish().unwrap().flush().unwrap();

    assert_eq!(added_small.sha256, sha256(b"a small file\n"));
    assert_eq!(added_small.size, 13);
    assert_eq!(added_big.size, BIG);

    let out = std::process::Command::new(&python)
        .args(["-c", LIST])
        .arg(&zip_path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!(
                "notes/a.json 8 {:08x} {} 1980",
                crc(b"{\"a\": 1}"),
                sha256(b"{\"a\": 1}")
            ),
            format!(
                "small.txt 13 {:08x} {} 1980",
                crc(b"a small file\n"),
                sha256(b"a small file\n")
            ),
            format!(
                "activations/big.bin {BIG} {:08x} - 1980",
                crc_of_zeros_then(BIG - 3, b"end")
            ),
        ]
    );
    // Deflated, the zeros take a few megabytes, not 4 GiB.
    assert!(std::fs::metadata(&zip_path).unwrap().len() < 64 << 20);
}

fn crc(bytes: &[u8]) -> u32 {
    crc_of_zeros_then(0, bytes)
}
