// Types for the parts of lz4js (CommonJS, ships no types) that compression/lz4.ts uses.
declare const lz4: {
  compressBound(n: number): number;
  /** Compresses src[sIndex, sIndex+sLength) as one LZ4 block into dst from 0; returns its size, 0 if incompressible. */
  compressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, hashTable: Uint32Array): number;
};
export default lz4;
