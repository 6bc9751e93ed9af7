//! The frame splitter on arbitrary bytes: never panics, never reads past the buffer, and every
//! frame it yields lies inside what it says it used.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let max = data.first().map_or(16, |&b| 1usize << (b % 20));
    let mut seen = 0usize;
    let (used, err) = endcap::protocol::split_frames_while(data, max, |p| {
        seen += endcap::protocol::LEN_PREFIX + p.len();
        p.len() % 7 != 3
    });
    assert_eq!(used, seen);
    assert!(used <= data.len());
    if err.is_none() && used < data.len() {
        assert!(endcap::protocol::frame_need(&data[used..]) >= data.len() - used || seen > 0);
    }
});
