//! The datasets repro knows, with the SHA-256 of each file's decompressed payload pinned
//! here: a file is accepted from any source only if its payload matches.

use serde::{Deserialize, Serialize};

/// The four files of an MNIST-style dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    TrainImages,
    TrainLabels,
    TestImages,
    TestLabels,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::TrainImages,
        Role::TrainLabels,
        Role::TestImages,
        Role::TestLabels,
    ];

    /// The canonical file name, without `.gz`.
    pub fn stem(self) -> &'static str {
        match self {
            Role::TrainImages => "train-images-idx3-ubyte",
            Role::TrainLabels => "train-labels-idx1-ubyte",
            Role::TestImages => "t10k-images-idx3-ubyte",
            Role::TestLabels => "t10k-labels-idx1-ubyte",
        }
    }

    pub fn rank(self) -> usize {
        match self {
            Role::TrainImages | Role::TestImages => 3,
            Role::TrainLabels | Role::TestLabels => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSpec {
    pub role: Role,
    /// SHA-256 of the decompressed payload.
    pub sha256: String,
    /// Payload length in bytes, when known.
    pub bytes: Option<u64>,
}

impl FileSpec {
    pub fn file_name(&self) -> String {
        format!("{}.gz", self.role.stem())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    pub name: String,
    /// Base URLs tried in order; the file name is appended.
    pub urls: Vec<String>,
    pub files: Vec<FileSpec>,
    pub classes: usize,
}

impl DatasetSpec {
    pub fn file(&self, role: Role) -> &FileSpec {
        self.files
            .iter()
            .find(|f| f.role == role)
            .expect("every dataset has all four files")
    }
}

fn pinned(role: Role, sha256: &str, bytes: u64) -> FileSpec {
    FileSpec {
        role,
        sha256: sha256.into(),
        bytes: Some(bytes),
    }
}

/// MNIST and Fashion-MNIST with their canonical URLs and payload digests.
/// Images in the official training set of a built-in dataset (both have 60,000), known
/// before anything is downloaded so that sizes can be checked against it.
pub fn builtin_train_images(name: &str) -> Option<usize> {
    builtin(name).map(|_| 60_000)
}

pub fn builtin(name: &str) -> Option<DatasetSpec> {
    use Role::*;
    match name {
        "mnist" => Some(DatasetSpec {
            name: name.into(),
            urls: vec![
                "https://ossci-datasets.s3.amazonaws.com/mnist/".into(),
                "https://storage.googleapis.com/cvdf-datasets/mnist/".into(),
            ],
            files: vec![
                pinned(
                    TrainImages,
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                    47_040_016,
                ),
                pinned(
                    TrainLabels,
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                    60_008,
                ),
                pinned(
                    TestImages,
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                    7_840_016,
                ),
                pinned(
                    TestLabels,
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                    10_008,
                ),
            ],
            classes: 10,
        }),
        "fashion-mnist" => Some(DatasetSpec {
            name: name.into(),
            urls: vec!["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/".into()],
            files: vec![
                pinned(
                    TrainImages,
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                    47_040_016,
                ),
                pinned(
                    TrainLabels,
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                    60_008,
                ),
                pinned(
                    TestImages,
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                    7_840_016,
                ),
                pinned(
                    TestLabels,
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                    10_008,
                ),
            ],
            classes: 10,
        }),
        _ => None,
    }
}

pub const BUILTIN_NAMES: [&str; 2] = ["mnist", "fashion-mnist"];
