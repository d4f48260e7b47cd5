//! Tests of the activation file format: round trips, and errors that name the file and
//! object at fault.

use super::*;

fn attrs() -> Attributes {
    Attributes {
        dataset: "tiny".into(),
        depth: 2,
        width: 3,
        activation: "relu".into(),
        loss: "mse".into(),
        optimizer: "adam".into(),
        training: "lr=0.001".into(),
        seed: 1,
        epoch: 0,
        step: 0,
        snapshot: "init".into(),
    }
}

/// A valid file with 4 test rows, then `tamper` applied through raw HDF5.
fn file_with(tamper: impl FnOnce(&hdf5::File)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.h5");
    let w = ActivationWriter::create(&path, &attrs(), Compression::Lzf, 2).unwrap();
    let mut s = w.split("test", 4, 2, 3, 2).unwrap();
    let pre = vec![vec![0.5f32; 6], vec![-1.0f32; 6]];
    s.write_block(&[0, 1], &pre, &[0.0; 4]).unwrap();
    s.write_block(&[1, 0], &pre, &[0.0; 4]).unwrap();
    assert!(s.is_complete());
    drop(s);
    w.finish().unwrap();
    let f = hdf5::File::open_rw(&path).unwrap();
    tamper(&f);
    drop(f);
    (dir, path)
}

/// The error reading layer `layer` of the test split.
fn preact_error(p: &Path, layer: usize) -> String {
    ActivationReader::open(p)
        .unwrap()
        .preact("test", layer, 4)
        .unwrap_err()
        .to_string()
}

#[test]
fn reads_back_what_was_written() {
    let (_d, p) = file_with(|_| {});
    let r = ActivationReader::open(&p).unwrap();
    assert_eq!(r.attrs, attrs());
    assert_eq!(r.labels("test", 2).unwrap(), vec![0, 1, 1, 0]);
    assert_eq!(r.preact("test", 2, 4).unwrap(), vec![-1.0; 12]);
    assert!(!r.has_split("train"));
}

#[test]
fn a_missing_dataset_is_named_with_file_and_path() {
    let (_d, p) = file_with(|f| f.unlink("test/preact/2").unwrap());
    let e = preact_error(&p, 2);
    assert!(e.contains("a.h5") && e.contains("/test/preact/2"), "{e}");
}

#[test]
fn a_shape_that_disagrees_with_the_attributes_is_named() {
    let (_d, p) = file_with(|f| {
        f.unlink("test/preact/1").unwrap();
        f.new_dataset::<f32>()
            .shape([4, 5])
            .create("test/preact/1")
            .unwrap();
    });
    let e = preact_error(&p, 1);
    assert!(
        e.contains("/test/preact/1") && e.contains("[4, 5]") && e.contains("[4, 3]"),
        "{e}"
    );
}

#[test]
fn non_finite_values_are_named_with_row_and_column() {
    let (_d, p) = file_with(|f| {
        let d = f.dataset("test/preact/1").unwrap();
        let mut v: Vec<f32> = d.read_raw().unwrap();
        v[7] = f32::NAN;
        d.write_raw(&v).unwrap();
    });
    let e = preact_error(&p, 1);
    assert!(
        e.contains("/test/preact/1") && e.contains("NaN") && e.contains("row 2, column 1"),
        "{e}"
    );
}

#[test]
fn labels_out_of_range_are_named() {
    let (_d, p) = file_with(|f| {
        f.dataset("test/labels")
            .unwrap()
            .write_raw(&[0u8, 1, 7, 0])
            .unwrap()
    });
    let e = ActivationReader::open(&p)
        .unwrap()
        .labels("test", 2)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/test/labels") && e.contains("label 7 at row 2"),
        "{e}"
    );
}

#[test]
fn a_missing_attribute_is_named() {
    let (_d, p) = file_with(|f| f.delete_attr("width").unwrap());
    let e = ActivationReader::open(&p).err().unwrap().to_string();
    assert!(e.contains("@width"), "{e}");
}

#[test]
fn the_library_must_be_the_one_the_keys_name() {
    assert!(library_matches("1.10.8", "1.10.8"));
    assert!(library_matches("1.10.8-2", "1.10.8"));
    assert!(library_matches("unknown", "1.14.0"));
    assert!(!library_matches("1.10.8", "1.14.0"));
    assert!(!library_matches("1.10.80", "1.10.8"));
    assert!(!library_matches("1.10.8", "1.10.80"));
    // This build found the library it runs with (pkg-config's version, as hdf5-sys
    // finds it): opening checks pass here.
    let (major, minor, micro) = hdf5::library_version();
    assert_eq!(BUILT_LIBHDF5, format!("{major}.{minor}.{micro}"));
    assert!(check_library(Path::new("x.h5")).is_ok());
    let e = ActivationFileError::LibraryChanged {
        file: "a.h5".into(),
        built: "1.10.8".into(),
        loaded: "1.14.0".into(),
    };
    assert!(e.to_string().contains("1.14.0") && e.to_string().contains("rebuild"));
}
