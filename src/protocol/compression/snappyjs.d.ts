// Types for the parts of snappyjs (CommonJS, ships no types) that compression/snappy.ts uses.
declare const snappy: {
  compress(data: Uint8Array): Uint8Array;
  uncompress(data: Uint8Array, maxLength?: number): Uint8Array;
};
export default snappy;
