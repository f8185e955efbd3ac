//! The checks shared by the fuzz targets.

use codec_format::{Container, Error, Limits};

/// Reads `data` with `limits`; whatever parses must be a valid container that
/// re-encodes canonically and reads back identically by every entry point.
pub fn check(data: &[u8], limits: &Limits) {
    let parsed = Container::from_bytes(data, limits);
    let streamed = Container::read_from(data, limits);
    let inspected = Container::inspect(data, limits);
    assert_eq!(
        parsed.is_ok(),
        inspected.is_ok(),
        "from_bytes and inspect disagree"
    );
    match (&parsed, &streamed) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        // The stream reader stops at the end of the file; the rest is not its business.
        (Err(Error::TrailingBytes { expected, .. }), Ok(b)) => {
            let exact = Container::from_bytes(&data[..*expected as usize], limits);
            assert_eq!(exact.as_ref().ok(), Some(b));
        }
        _ => panic!("from_bytes {parsed:?} and read_from {streamed:?} disagree"),
    }
    let Ok(container) = parsed else { return };
    let info = inspected.unwrap();
    assert_eq!(info.header, container.header);

    let bytes = container
        .to_bytes()
        .expect("a container that was read can be written");
    let again = Container::from_bytes(&bytes, &Limits::default()).expect("re-read");
    assert_eq!(again, container);
    assert_eq!(again.to_bytes().unwrap(), bytes);
    // Whatever metadata was read passes the writer's checks, and survives.
    let metadata = container.metadata();
    metadata
        .validate()
        .expect("metadata that was read is valid");
    assert_eq!(again.metadata(), metadata);
    // Canonical encoding: a file declaring the version the writer picks for
    // it (1.1 with metadata, 1.0 without) is re-written identically (checksum
    // aside, which may be unverified here).
    if bytes[9] == data[9] {
        let body = data.len() - 4;
        assert_eq!(bytes[..body], data[..body]);
    }
}
