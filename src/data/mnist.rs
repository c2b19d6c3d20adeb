//! MNIST digits from the standard IDX files, checked before they are
//! trusted.
//!
//! A folder holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte`, each raw or
//! gzip-compressed (told apart by the bytes, not the name; a `.gz` suffix on
//! the name is optional). Everything in a header is checked against the
//! bytes that are actually there before anything is allocated from it:
//! magic numbers, 28×28 images, data length equal to what the header claims,
//! labels 0–9, as many labels as images. A gzip stream is read through a
//! hard cap, so no file can make the loader allocate without bound.
//!
//! ```
//! use chainrule::data::mnist;
//!
//! // A two-digit IDX pair, made by hand.
//! let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
//! images.extend(std::iter::repeat(255).take(2 * 784));
//! let labels = [0, 0, 8, 1, 0, 0, 0, 2, 7, 3];
//! let digits = mnist::Digits::from_idx(&images, &labels).unwrap();
//! assert_eq!((digits.len(), digits.label(1)), (2, Some(3)));
//! assert_eq!(digits.pixels(0).unwrap()[0], 1.0); // 255 / 255
//!
//! let error = mnist::parse_labels(&[0, 0, 8, 1, 0, 0, 0, 1, 12]).unwrap_err();
//! assert_eq!(error.to_string(), "label 12 at index 0 is not a digit 0-9");
//! ```

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Rows of an MNIST image.
pub const ROWS: usize = 28;
/// Columns of an MNIST image.
pub const COLS: usize = 28;
/// Pixels of an MNIST image.
pub const PIXELS: usize = ROWS * COLS;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// The most bytes a gzip stream may decompress to: the full 60,000-image
/// training file is 47,040,016 bytes.
pub const MAX_DECOMPRESSED: u64 = 64 << 20;

/// What is wrong with the bytes of one IDX file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdxError {
    /// Shorter than its header.
    #[error("{len} bytes is too short for the {needed}-byte IDX header (truncated file?)")]
    Truncated {
        /// Bytes there are.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// Not an IDX file of the expected kind.
    #[error("magic number {found:#010x} is not {expected:#010x} ({what})")]
    WrongMagic {
        /// The magic number found.
        found: u32,
        /// The one expected.
        expected: u32,
        /// What kind of file was expected.
        what: &'static str,
    },
    /// Images that are not 28×28.
    #[error("images are {rows}x{cols}; MNIST digits are 28x28")]
    WrongDimensions {
        /// Rows in the header.
        rows: u32,
        /// Columns in the header.
        cols: u32,
    },
    /// The data is not as long as the header claims.
    #[error(
        "the header claims {claimed} bytes of data but the file has {actual} (truncated, or extra bytes at the end)"
    )]
    WrongLength {
        /// Bytes of data the header claims.
        claimed: u64,
        /// Bytes of data there are.
        actual: u64,
    },
    /// A label that is not a digit.
    #[error("label {label} at index {index} is not a digit 0-9")]
    LabelOutOfRange {
        /// Position of the label.
        index: usize,
        /// The label.
        label: u8,
    },
    /// Starts like gzip but is not a valid gzip stream.
    #[error("starts like gzip but is not a valid gzip stream ({0}); is the download complete?")]
    CorruptGzip(String),
    /// Decompresses to more than [`MAX_DECOMPRESSED`] bytes.
    #[error("decompresses to more than {limit} bytes, more than any MNIST file")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
}

/// What went wrong loading MNIST from a folder. Each names the file.
#[derive(Debug, Error)]
pub enum MnistError {
    /// A file is not in the folder.
    #[error(
        "no {name} (or {name}.gz) in {dir}; run scripts/fetch-mnist.sh, or point --data at a folder that has the MNIST files"
    )]
    Missing {
        /// The folder.
        dir: PathBuf,
        /// The file's standard name.
        name: &'static str,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file's bytes are not what they must be.
    #[error("{path}: {source}")]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: IdxError,
    },
    /// Images and labels of a split differ in number.
    #[error("{images} holds {image_count} images but {labels} holds {label_count} labels")]
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// Images in it.
        image_count: usize,
        /// The labels file.
        labels: PathBuf,
        /// Labels in it.
        label_count: usize,
    },
}

/// The bytes of an IDX file: gunzipped if they start with the gzip magic
/// number, as they are otherwise.
///
/// # Errors
///
/// [`IdxError::CorruptGzip`], [`IdxError::TooLarge`].
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, [u8]>, IdxError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DECOMPRESSED + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| IdxError::CorruptGzip(e.to_string()))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(IdxError::TooLarge {
            limit: MAX_DECOMPRESSED,
        });
    }
    Ok(Cow::Owned(out))
}

fn header(bytes: &[u8], words: usize) -> Result<Vec<u32>, IdxError> {
    let needed = 4 * words;
    if bytes.len() < needed {
        return Err(IdxError::Truncated {
            len: bytes.len(),
            needed,
        });
    }
    Ok(bytes[..needed]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn magic(found: u32, expected: u32, what: &'static str) -> Result<(), IdxError> {
    if found == expected {
        Ok(())
    } else {
        Err(IdxError::WrongMagic {
            found,
            expected,
            what,
        })
    }
}

fn data(bytes: &[u8], header_len: usize, claimed: u64) -> Result<&[u8], IdxError> {
    let data = &bytes[header_len..];
    if data.len() as u64 != claimed {
        return Err(IdxError::WrongLength {
            claimed,
            actual: data.len() as u64,
        });
    }
    Ok(data)
}

/// The pixels of an (uncompressed) IDX image file: `count × 784` bytes,
/// image after image, row by row.
///
/// # Errors
///
/// [`IdxError::Truncated`], [`IdxError::WrongMagic`],
/// [`IdxError::WrongDimensions`], [`IdxError::WrongLength`].
#[doc(hidden)]
pub fn parse_images(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let h = header(bytes, 4)?;
    magic(
        h[0],
        IMAGES_MAGIC,
        "an IDX file of unsigned-byte images, 3 dimensions",
    )?;
    if (h[2], h[3]) != (ROWS as u32, COLS as u32) {
        return Err(IdxError::WrongDimensions {
            rows: h[2],
            cols: h[3],
        });
    }
    // u64 arithmetic: no count can overflow it (u32 × 784).
    Ok(data(bytes, 16, u64::from(h[1]) * PIXELS as u64)?.to_vec())
}

/// The labels of an (uncompressed) IDX label file.
///
/// # Errors
///
/// [`IdxError::Truncated`], [`IdxError::WrongMagic`],
/// [`IdxError::WrongLength`], [`IdxError::LabelOutOfRange`].
#[doc(hidden)]
pub fn parse_labels(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    let h = header(bytes, 2)?;
    magic(
        h[0],
        LABELS_MAGIC,
        "an IDX file of unsigned-byte labels, 1 dimension",
    )?;
    let labels = data(bytes, 8, u64::from(h[1]))?;
    if let Some(index) = labels.iter().position(|&l| l > 9) {
        return Err(IdxError::LabelOutOfRange {
            index,
            label: labels[index],
        });
    }
    Ok(labels.to_vec())
}

/// Digits and their labels: one split of MNIST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Digits {
    images: Vec<u8>,
    labels: Vec<u8>,
}

impl Digits {
    /// Digits from the bytes of an image file and a label file (each raw or
    /// gzip-compressed).
    ///
    /// # Errors
    ///
    /// Any [`IdxError`]; [`IdxError::WrongLength`] also when the files hold
    /// different numbers of items.
    pub fn from_idx(images: &[u8], labels: &[u8]) -> Result<Digits, IdxError> {
        let images = parse_images(&decode(images)?)?;
        let labels = parse_labels(&decode(labels)?)?;
        if images.len() != labels.len() * PIXELS {
            return Err(IdxError::WrongLength {
                claimed: (labels.len() * PIXELS) as u64,
                actual: images.len() as u64,
            });
        }
        Ok(Digits { images, labels })
    }

    /// The number of digits.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` digits (all of them if there are fewer).
    pub fn take(mut self, n: usize) -> Digits {
        let n = n.min(self.len());
        self.labels.truncate(n);
        self.images.truncate(n * PIXELS);
        self
    }

    /// Digit `i`'s 784 pixels, 0 (white) to 255 (black), row by row;
    /// `None` past the last digit, however large `i` is.
    ///
    /// ```
    /// # use chainrule::data::mnist::Digits;
    /// # let mut images = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28];
    /// # images.extend([7; 784]);
    /// let digits = Digits::from_idx(&images, &[0, 0, 8, 1, 0, 0, 0, 1, 4]).unwrap();
    /// assert!(digits.image(0).is_some());
    /// assert_eq!(digits.image(1 << 60), None); // 2^60 × 784 does not wrap to 0
    /// ```
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        // Checked: in release builds `i * 784` would wrap for huge `i` and
        // land on another digit.
        let start = i.checked_mul(PIXELS)?;
        self.images.get(start..start.checked_add(PIXELS)?)
    }

    /// Digit `i`'s pixels as `pixel / 255`, in [0, 1].
    pub fn pixels(&self, i: usize) -> Option<Vec<f64>> {
        self.image(i)
            .map(|image| image.iter().map(|&p| f64::from(p) / 255.0).collect())
    }

    /// Digit `i`'s label, 0–9.
    pub fn label(&self, i: usize) -> Option<u8> {
        self.labels.get(i).copied()
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// All pixels, image after image.
    pub fn images(&self) -> &[u8] {
        &self.images
    }
}

/// Both splits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mnist {
    /// The training digits (`train-…` files).
    pub train: Digits,
    /// The test digits (`t10k-…` files).
    pub test: Digits,
}

/// Loads both splits from `dir`, keeping at most the first `train` and
/// `test` digits of each (`None` for all).
///
/// # Errors
///
/// [`MnistError`] naming the file and what is wrong with it.
pub fn load(
    dir: impl AsRef<Path>,
    train: Option<usize>,
    test: Option<usize>,
) -> Result<Mnist, MnistError> {
    let dir = dir.as_ref();
    Ok(Mnist {
        train: load_split(
            dir,
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            train,
        )?,
        test: load_split(
            dir,
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
            test,
        )?,
    })
}

fn load_split(
    dir: &Path,
    images_name: &'static str,
    labels_name: &'static str,
    keep: Option<usize>,
) -> Result<Digits, MnistError> {
    let (images_path, images) = read(dir, images_name, parse_images)?;
    let (labels_path, labels) = read(dir, labels_name, parse_labels)?;
    if images.len() != labels.len() * PIXELS {
        return Err(MnistError::CountMismatch {
            images: images_path,
            image_count: images.len() / PIXELS,
            labels: labels_path,
            label_count: labels.len(),
        });
    }
    let digits = Digits { images, labels };
    Ok(match keep {
        Some(n) => digits.take(n),
        None => digits,
    })
}

fn read(
    dir: &Path,
    name: &'static str,
    parse: fn(&[u8]) -> Result<Vec<u8>, IdxError>,
) -> Result<(PathBuf, Vec<u8>), MnistError> {
    let path = [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| MnistError::Missing {
            dir: dir.to_path_buf(),
            name,
        })?;
    let bytes = std::fs::read(&path).map_err(|source| MnistError::Io {
        path: path.clone(),
        source,
    })?;
    let parsed = decode(&bytes).and_then(|raw| parse(&raw));
    match parsed {
        Ok(data) => Ok((path, data)),
        Err(source) => Err(MnistError::Idx { path, source }),
    }
}
