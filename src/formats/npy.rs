//! NumPy `.npy` (version 1.0) arrays: the data stage's output, loaded fast by the training
//! stage and by `numpy.load` alike.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

/// Element types repro stores.
pub trait NpyElement: Copy + Default {
    const DESCR: &'static str;
    fn write_le(values: &[Self], out: &mut impl Write) -> io::Result<()>;
    fn read_le(bytes: &[u8]) -> Vec<Self>;
}

impl NpyElement for u8 {
    const DESCR: &'static str = "|u1";
    fn write_le(values: &[u8], out: &mut impl Write) -> io::Result<()> {
        out.write_all(values)
    }
    fn read_le(bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn write_le(values: &[f32], out: &mut impl Write) -> io::Result<()> {
        for chunk in values.chunks(16_384) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            out.write_all(&bytes)?;
        }
        Ok(())
    }
    fn read_le(bytes: &[u8]) -> Vec<f32> {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

pub fn write_npy<T: NpyElement>(path: &Path, shape: &[usize], values: &[T]) -> io::Result<()> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "shape matches data"
    );
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        T::DESCR
    );
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&(header.len() as u16).to_le_bytes())?;
    out.write_all(header.as_bytes())?;
    T::write_le(values, &mut out)?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Reads an array written by [`write_npy`] (C order, the expected element type).
pub fn read_npy<T: NpyElement>(path: &Path) -> io::Result<(Vec<usize>, Vec<T>)> {
    let bad = |m: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {m}", path.display()),
        )
    };
    let mut input = BufReader::new(File::open(path)?);
    let mut prefix = [0u8; 10];
    input.read_exact(&mut prefix)?;
    if &prefix[..6] != b"\x93NUMPY" || prefix[6] != 1 {
        return Err(bad("not a version 1 .npy file".into()));
    }
    let len = u16::from_le_bytes([prefix[8], prefix[9]]) as usize;
    let mut header = vec![0u8; len];
    input.read_exact(&mut header)?;
    let header = String::from_utf8_lossy(&header);
    if !header.contains(&format!("'descr': '{}'", T::DESCR))
        || !header.contains("'fortran_order': False")
    {
        return Err(bad(format!(
            "expected C-order {} data, header is {header}",
            T::DESCR
        )));
    }
    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("header has no shape".into()))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| bad(format!("bad shape `{shape_text}`")))
        })
        .collect::<Result<_, _>>()?;
    let count: usize = shape.iter().product();
    let mut bytes = Vec::with_capacity(count * std::mem::size_of::<T>());
    input.read_to_end(&mut bytes)?;
    if bytes.len() != count * std::mem::size_of::<T>() {
        return Err(bad(format!(
            "{} data bytes, shape {shape:?} needs {}",
            bytes.len(),
            count * std::mem::size_of::<T>()
        )));
    }
    Ok((shape, T::read_le(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, &[2, 3], &[0.0f32, 1.5, -2.0, 3.0, 4.0, 5.0]).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(
            (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64,
            0
        );
        let (shape, v) = read_npy::<f32>(&p).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(v[2], -2.0);
        let q = dir.path().join("b.npy");
        write_npy(&q, &[3], &[7u8, 8, 9]).unwrap();
        assert_eq!(read_npy::<u8>(&q).unwrap(), (vec![3], vec![7, 8, 9]));
        assert!(read_npy::<f32>(&q).is_err(), "element type is checked");
    }
}
