//! The IDX format of MNIST-style datasets, parsed strictly: magic number, element type,
//! rank, dimensions and exact length must all agree.

use thiserror::Error;

#[derive(Debug, Error, PartialEq)]
pub enum IdxError {
    #[error("too short for an IDX header ({0} bytes)")]
    TooShort(usize),
    #[error("wrong magic number 0x{0:08x}: an IDX file starts with two zero bytes")]
    BadMagic(u32),
    #[error("element type 0x{0:02x} is not unsigned byte (0x08)")]
    NotUnsignedByte(u8),
    #[error("rank {found}, expected {expected}")]
    WrongRank { expected: usize, found: usize },
    #[error("length {found} bytes, but the header's dimensions {dims:?} need exactly {expected}")]
    WrongLength {
        dims: Vec<usize>,
        expected: usize,
        found: usize,
    },
}

/// An unsigned-byte IDX array.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parses an unsigned-byte IDX payload of the given rank (3 for images, 1 for labels).
pub fn parse_idx(bytes: &[u8], rank: usize) -> Result<IdxArray, IdxError> {
    if bytes.len() < 4 {
        return Err(IdxError::TooShort(bytes.len()));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(IdxError::BadMagic(magic));
    }
    if bytes[2] != 0x08 {
        return Err(IdxError::NotUnsignedByte(bytes[2]));
    }
    let found_rank = bytes[3] as usize;
    if found_rank != rank {
        return Err(IdxError::WrongRank {
            expected: rank,
            found: found_rank,
        });
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(IdxError::TooShort(bytes.len()));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let expected = dims.iter().product::<usize>() + header;
    if bytes.len() != expected {
        return Err(IdxError::WrongLength {
            dims,
            expected,
            found: bytes.len(),
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Encodes an unsigned-byte IDX array (used by tests to make tiny datasets).
pub fn encode_idx(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&(*d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_images_and_labels() {
        let img = encode_idx(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse_idx(&img, 3).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data[11], 12);
        let lab = encode_idx(&[3], &[7, 2, 1]);
        assert_eq!(parse_idx(&lab, 1).unwrap().data, vec![7, 2, 1]);
    }

    #[test]
    fn rejects_every_malformed_header() {
        let good = encode_idx(&[3], &[1, 2, 3]);
        let mut bad_magic = good.clone();
        bad_magic[0] = 0x1f;
        assert!(matches!(
            parse_idx(&bad_magic, 1),
            Err(IdxError::BadMagic(_))
        ));
        let mut float_type = good.clone();
        float_type[2] = 0x0d;
        assert_eq!(
            parse_idx(&float_type, 1),
            Err(IdxError::NotUnsignedByte(0x0d))
        );
        assert!(matches!(
            parse_idx(&good, 3),
            Err(IdxError::WrongRank { .. })
        ));
        assert!(matches!(
            parse_idx(&good[..good.len() - 1], 1),
            Err(IdxError::WrongLength {
                expected: 11,
                found: 10,
                ..
            })
        ));
        let mut long = good.clone();
        long.push(0);
        assert!(matches!(
            parse_idx(&long, 1),
            Err(IdxError::WrongLength { .. })
        ));
        assert_eq!(parse_idx(&good[..2], 1), Err(IdxError::TooShort(2)));
    }
}
