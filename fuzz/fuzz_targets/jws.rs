#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_targets::jws_parse_verify(data));
