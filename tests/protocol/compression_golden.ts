// Generated once with Debian's python3 (gzip, python3-snappy 0.5.3, python3-lz4 4.0.2,
// python3-zstandard 0.20, python3-kafka 2.0.2 kafka.codec) from GOLDEN_PLAIN; see compression_test.ts.
export const GOLDEN_PLAIN =
  "golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload golden kafka payload end";
export const GOLDEN: Record<string, [codec: number, hex: string]> = {
  gzip_python: [
    1,
    "1f8b08007977026b02ff4bcfcf4949cd53c84e4ccb4e542848acccc94f4c51481f151c4c82a979290042fc45f0a7010000",
  ],
  snappy_raw: [2, "a70350676f6c64656e206b61666b61207061796c6f616420fe1500fe1500fe1500fe1500fe1500fe15003a150008656e64"],
  snappy_xerial_kafka_python: [
    2,
    "82534e415050590000000001000000010000001e800150676f6c64656e206b61666b61207061796c6f616420fe1500aa15000000001e8001506c64656e206b61666b61207061796c6f616420676ffe1500aa15000000001e800150656e206b61666b61207061796c6f616420676f6c64fe1500aa15000000001e2750206b61666b61207061796c6f616420676f6c64656e3a150008656e64",
  ],
  lz4_frame_python_linked: [
    3,
    "04224d186c40a7010000000000006a21000000ff06676f6c64656e206b61666b61207061796c6f6164201500ff7b506420656e640000000074507d26",
  ],
  lz4_kafka_python: [
    3,
    "04224d186840a7010000000000009621000000ff06676f6c64656e206b61666b61207061796c6f6164201500ff7b506420656e6400000000",
  ],
  zstd_python_streamed: [4, "28b52ffd0400fd0000c0676f6c64656e206b61666b61207061796c6f616420656e64010019519d4cc7eb15f1"],
};
