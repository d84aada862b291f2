//! Which bytes are an image: the type is decided by the bytes, never by the
//! client's declared content type or file name, and the bytes must decode as
//! an image of that type with sane dimensions: a PNG signature followed by
//! HTML, or a truncated file, is no image.

/// Largest accepted image.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Widest and tallest accepted image, in pixels.
pub const MAX_IMAGE_SIDE: u32 = 4096;

/// Most memory one decode may take: a maximal RGBA image (64 MiB) and room.
const MAX_DECODE_ALLOC: u64 = 128 * 1024 * 1024;

/// Why bytes are not an acceptable image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadImage {
    #[error("file is not a PNG, JPEG, WebP or GIF image")]
    Unsupported,
    #[error("file is not a valid {kind} image: {reason}")]
    Corrupt { kind: &'static str, reason: String },
    #[error("image is {width}×{height} pixels; at most {MAX_IMAGE_SIDE} on each side")]
    TooLarge { width: u32, height: u32 },
}

/// An image that decoded completely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedImage {
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
}

/// Recognises `bytes` by their magic bytes and decodes them in full (the
/// first frame of an animation): CPU work, run it off the async threads.
pub fn check(bytes: &[u8]) -> Result<CheckedImage, BadImage> {
    let kind = ImageKind::sniff(bytes).ok_or(BadImage::Unsupported)?;
    let corrupt = |e: image::ImageError| BadImage::Corrupt {
        kind: kind.name(),
        reason: e.to_string(),
    };
    let reader = || image::ImageReader::with_format(std::io::Cursor::new(bytes), kind.format());
    // The header first: a huge canvas is refused before anything is allocated.
    let (width, height) = reader().into_dimensions().map_err(corrupt)?;
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(BadImage::TooLarge { width, height });
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut decoder = reader();
    decoder.limits(limits);
    decoder.decode().map_err(corrupt)?;
    Ok(CheckedImage {
        kind,
        width,
        height,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    /// Recognises an image by its magic bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    fn format(self) -> image::ImageFormat {
        match self {
            Self::Png => image::ImageFormat::Png,
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Gif => image::ImageFormat::Gif,
            Self::Webp => image::ImageFormat::WebP,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
            Self::Gif => "GIF",
            Self::Webp => "WebP",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageKind::Png)
        );
        assert_eq!(ImageKind::sniff(b"\xff\xd8\xff\xe0"), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::sniff(b"GIF89a.."), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"<svg xmlns=..."), None);
        assert_eq!(ImageKind::sniff(b"PK\x03\x04"), None);
        assert_eq!(ImageKind::sniff(b""), None);
    }

    fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
        let img = image::DynamicImage::new_rgb8(width, height);
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn real_images_decode() {
        for (format, kind) in [
            (image::ImageFormat::Png, ImageKind::Png),
            (image::ImageFormat::Jpeg, ImageKind::Jpeg),
            (image::ImageFormat::Gif, ImageKind::Gif),
            (image::ImageFormat::WebP, ImageKind::Webp),
        ] {
            let bytes = encoded(3, 2, format);
            assert_eq!(
                check(&bytes),
                Ok(CheckedImage {
                    kind,
                    width: 3,
                    height: 2
                }),
                "{format:?}"
            );
        }
    }

    #[test]
    fn a_signature_is_not_an_image() {
        let mut polyglot = b"\x89PNG\r\n\x1a\n".to_vec();
        polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
        assert!(matches!(
            check(&polyglot),
            Err(BadImage::Corrupt { kind: "PNG", .. })
        ));
        let png = encoded(64, 64, image::ImageFormat::Png);
        assert!(matches!(
            check(&png[..png.len() / 2]),
            Err(BadImage::Corrupt { .. })
        ));
        let jpeg = encoded(64, 64, image::ImageFormat::Jpeg);
        assert!(check(&jpeg[..jpeg.len() / 2]).is_err());
        assert_eq!(check(b"<svg/>"), Err(BadImage::Unsupported));
    }

    #[test]
    fn huge_canvases_are_refused_from_the_header() {
        let bytes = encoded(MAX_IMAGE_SIDE + 1, 1, image::ImageFormat::Png);
        assert_eq!(
            check(&bytes),
            Err(BadImage::TooLarge {
                width: MAX_IMAGE_SIDE + 1,
                height: 1
            })
        );
    }
}
