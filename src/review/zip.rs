//! A minimal ZIP writer (deflate, no ZIP64) for `repro export`: enough for any unzip tool,
//! Python's `zipfile` and browsers' file managers, without a new crate (the lock file is in
//! every stage's fingerprint). Entries carry a fixed timestamp, so the same files make the
//! same archive.

use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};
use std::io::{self, Write};

/// 1980-01-01 00:00 in DOS time and date: the earliest a ZIP can say.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

struct Entry {
    name: String,
    crc: u32,
    compressed: u32,
    size: u32,
    offset: u32,
}

pub struct ZipWriter<W: Write> {
    out: W,
    written: u64,
    entries: Vec<Entry>,
}

fn too_big(what: &str) -> io::Error {
    io::Error::other(format!(
        "{what} exceeds 4 GiB, which a ZIP without ZIP64 cannot hold"
    ))
}

impl<W: Write> ZipWriter<W> {
    pub fn new(out: W) -> Self {
        ZipWriter {
            out,
            written: 0,
            entries: Vec::new(),
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Adds a file named `name` (forward slashes) holding `data`.
    pub fn add(&mut self, name: &str, data: &[u8]) -> io::Result<()> {
        let mut crc = Crc::new();
        crc.update(data);
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
        enc.write_all(data)?;
        let packed = enc.finish()?;
        let size = u32::try_from(data.len()).map_err(|_| too_big(name))?;
        let compressed = u32::try_from(packed.len()).map_err(|_| too_big(name))?;
        let offset = u32::try_from(self.written).map_err(|_| too_big("the archive"))?;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend(0x0403_4b50u32.to_le_bytes());
        h.extend(20u16.to_le_bytes()); // version needed: 2.0 (deflate)
        h.extend(0x0800u16.to_le_bytes()); // names are UTF-8
        h.extend(8u16.to_le_bytes()); // deflate
        h.extend(DOS_TIME.to_le_bytes());
        h.extend(DOS_DATE.to_le_bytes());
        h.extend(crc.sum().to_le_bytes());
        h.extend(compressed.to_le_bytes());
        h.extend(size.to_le_bytes());
        h.extend((name.len() as u16).to_le_bytes());
        h.extend(0u16.to_le_bytes());
        h.extend(name.as_bytes());
        self.put(&h)?;
        self.put(&packed)?;
        self.entries.push(Entry {
            name: name.to_string(),
            crc: crc.sum(),
            compressed,
            size,
            offset,
        });
        Ok(())
    }

    /// Writes the central directory; returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        let start = u32::try_from(self.written).map_err(|_| too_big("the archive"))?;
        let mut cd = Vec::new();
        for e in &self.entries {
            cd.extend(0x0201_4b50u32.to_le_bytes());
            cd.extend(20u16.to_le_bytes()); // made by
            cd.extend(20u16.to_le_bytes()); // needed
            cd.extend(0x0800u16.to_le_bytes());
            cd.extend(8u16.to_le_bytes());
            cd.extend(DOS_TIME.to_le_bytes());
            cd.extend(DOS_DATE.to_le_bytes());
            cd.extend(e.crc.to_le_bytes());
            cd.extend(e.compressed.to_le_bytes());
            cd.extend(e.size.to_le_bytes());
            cd.extend((e.name.len() as u16).to_le_bytes());
            cd.extend([0u8; 8]); // extra, comment, disk, internal attributes
            cd.extend(0u32.to_le_bytes()); // external attributes
            cd.extend(e.offset.to_le_bytes());
            cd.extend(e.name.as_bytes());
        }
        let n = u16::try_from(self.entries.len()).map_err(|_| too_big("the file count"))?;
        let size = u32::try_from(cd.len()).map_err(|_| too_big("the directory"))?;
        self.put(&cd)?;
        let mut end = Vec::new();
        end.extend(0x0605_4b50u32.to_le_bytes());
        end.extend([0u8; 4]); // this disk, the directory's disk
        end.extend(n.to_le_bytes());
        end.extend(n.to_le_bytes());
        end.extend(size.to_le_bytes());
        end.extend(start.to_le_bytes());
        end.extend(0u16.to_le_bytes());
        self.put(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}
