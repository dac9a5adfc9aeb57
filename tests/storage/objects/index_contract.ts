// One contract for every ObjectIndex (memoryObjectIndex, and the PostgreSQL index when it lands): offsets
// assigned at commit, extents located, log start moves, and the bookkeeping deletion and compaction rely on.
// Each `make()` must return an empty index.
import { describe, expect, test } from "bun:test";
import type { CommitEntry, CompactableIndex, ObjectIndex } from "../../../src/storage/objects/index.ts";

export function entry(topic: string, partition: number, position: number, size: number, records: number): CommitEntry {
  return { topic, partition, position, size, records, maxTimestamp: 1000 + position };
}

const obj = (n: number) => ({
  key: `p/chronik-data/v1/${String(n).padStart(13, "0")}-n1-0123456789abcdef.kob`,
  size: 1000,
});

export function objectIndexContract(name: string, make: () => Promise<ObjectIndex>): void {
  describe(`ObjectIndex contract: ${name}`, () => {
    test("commit assigns dense offsets per partition, in entry order, across objects", async () => {
      const ix = await make();
      expect(await ix.commit(obj(1), [entry("t", 0, 0, 100, 3), entry("t", 0, 100, 50, 2), entry("t", 1, 150, 10, 1)]))
        .toEqual([{ baseOffset: 0 }, { baseOffset: 3 }, { baseOffset: 0 }]);
      expect(await ix.commit(obj(2), [entry("t", 0, 0, 70, 4)])).toEqual([{ baseOffset: 5 }]);
      expect(await ix.offsets("t", 0)).toEqual({ logStartOffset: 0, logEndOffset: 9, sizeInBytes: 220 });
      expect(await ix.offsets("t", 1)).toEqual({ logStartOffset: 0, logEndOffset: 1, sizeInBytes: 10 });
      expect(await ix.offsets("t", 2)).toEqual({ logStartOffset: 0, logEndOffset: 0, sizeInBytes: 0 });
    });

    test("an entry's expected log end (logEnd): commits only while it is the partition's end; else KAFKA_STORAGE_ERROR, no offsets", async () => {
      const ix = await make();
      const at = (e: CommitEntry, logEnd: number): CommitEntry => ({ ...e, logEnd });
      expect(await ix.commit(obj(1), [at(entry("t", 0, 0, 10, 2), 0), at(entry("t", 0, 10, 10, 3), 2)]))
        .toEqual([{ baseOffset: 0 }, { baseOffset: 2 }]);
      // A commit the broker gave up on, landing after the retry (or the other way round): refused, nothing stored.
      const late = await ix.commit(obj(2), [at(entry("t", 0, 0, 10, 2), 2), at(entry("t", 1, 10, 10, 1), 0)]);
      expect(late[0]).toMatchObject({ errorCode: 56 });
      expect(late[1]).toEqual({ baseOffset: 0 });
      expect(await ix.offsets("t", 0)).toEqual({ logStartOffset: 0, logEndOffset: 5, sizeInBytes: 20 });
      expect((await ix.commit(obj(3), [at(entry("t", 0, 0, 10, 1), 5)]))[0]).toEqual({ baseOffset: 5 });
    });

    test("locate: from the extent holding the offset, within maxBytes (the first always), empty past the end", async () => {
      const ix = await make();
      await ix.commit(obj(1), [entry("t", 0, 0, 100, 3), entry("t", 0, 100, 50, 2)]);
      await ix.commit(obj(2), [entry("t", 0, 10, 70, 4)]);
      const all = await ix.locate("t", 0, 0, 1 << 20);
      expect(all.map((e) => [e.objectKey, e.position, e.size, e.baseOffset, e.lastOffset])).toEqual([
        [obj(1).key, 0, 100, 0, 2],
        [obj(1).key, 100, 50, 3, 4],
        [obj(2).key, 10, 70, 5, 8],
      ]);
      expect(all[0]).toMatchObject({ topic: "t", partition: 0, maxTimestamp: 1000 });
      expect((await ix.locate("t", 0, 4, 1 << 20)).map((e) => e.baseOffset)).toEqual([3, 5]);
      expect((await ix.locate("t", 0, 0, 149)).map((e) => e.baseOffset)).toEqual([0]);
      expect((await ix.locate("t", 0, 0, 150)).map((e) => e.baseOffset)).toEqual([0, 3]);
      expect((await ix.locate("t", 0, 0, 1)).map((e) => e.baseOffset)).toEqual([0]);
      expect(await ix.locate("t", 0, 9, 1 << 20)).toEqual([]);
      expect(await ix.locate("other", 0, 0, 1 << 20)).toEqual([]);
    });

    test("advanceLogStart drops whole extents below it, never moves back, stops at the end", async () => {
      const ix = await make();
      await ix.commit(obj(1), [entry("t", 0, 0, 100, 3)]);
      await ix.commit(obj(2), [entry("t", 0, 0, 100, 3)]);
      await ix.advanceLogStart("t", 0, 4);
      expect(await ix.offsets("t", 0)).toEqual({ logStartOffset: 4, logEndOffset: 6, sizeInBytes: 100 });
      expect((await ix.locate("t", 0, 0, 1 << 20)).map((e) => e.baseOffset)).toEqual([3]);
      await ix.advanceLogStart("t", 0, 1);
      expect((await ix.offsets("t", 0)).logStartOffset).toBe(4);
      await ix.advanceLogStart("t", 0, 100);
      expect(await ix.offsets("t", 0)).toEqual({ logStartOffset: 6, logEndOffset: 6, sizeInBytes: 0 });
      expect(await ix.locate("t", 0, 0, 1 << 20)).toEqual([]);
    });

    test("timestamps: first extent reaching a timestamp, earliest holder of the max, both from the log start", async () => {
      const ix = await make();
      // maxTimestamp is 1000 + position: 1000, 1100, 1050, 1100
      await ix.commit(obj(1), [entry("t", 0, 0, 10, 1), entry("t", 0, 100, 10, 1)]);
      await ix.commit(obj(2), [entry("t", 0, 50, 10, 1), entry("t", 0, 100, 10, 1)]);
      expect((await ix.locateTimestamp("t", 0, 1040))?.baseOffset).toBe(1);
      expect((await ix.locateTimestamp("t", 0, 0))?.baseOffset).toBe(0);
      expect(await ix.locateTimestamp("t", 0, 2000)).toBeNull();
      expect((await ix.locateMaxTimestamp("t", 0))?.baseOffset).toBe(1);
      await ix.advanceLogStart("t", 0, 2);
      expect((await ix.locateTimestamp("t", 0, 1040))?.baseOffset).toBe(2);
      expect((await ix.locateMaxTimestamp("t", 0))?.baseOffset).toBe(3);
      expect(await ix.locateMaxTimestamp("t", 9)).toBeNull();
    });

    test("objects: unreferenced once no extent refers to them, known until forgotten", async () => {
      const ix = await make();
      await ix.commit(obj(1), [entry("t", 0, 0, 100, 3), entry("u", 0, 100, 10, 1)]);
      await ix.commit(obj(2), [entry("t", 0, 0, 100, 3)]);
      expect(await ix.unreferencedObjects(10)).toEqual([]);
      await ix.advanceLogStart("t", 0, 3);
      expect(await ix.unreferencedObjects(10)).toEqual([]); // u-0 still refers to object 1
      await ix.removePartition("u", 0);
      expect(await ix.unreferencedObjects(10)).toEqual([obj(1).key]);
      expect(await ix.knownObjects([obj(1).key, obj(2).key, "nope"])).toEqual(new Set([obj(1).key, obj(2).key]));
      await ix.forgetObjects([obj(1).key]);
      expect(await ix.unreferencedObjects(10)).toEqual([]);
      expect(await ix.knownObjects([obj(1).key, obj(2).key])).toEqual(new Set([obj(2).key]));
      expect(await ix.offsets("u", 0)).toEqual({ logStartOffset: 0, logEndOffset: 0, sizeInBytes: 0 });
    });

    test("an object whose commit accepted no entry is known, and unreferenced", async () => {
      const ix = await make();
      await ix.commit(obj(1), []);
      expect(await ix.knownObjects([obj(1).key])).toEqual(new Set([obj(1).key]));
      expect(await ix.unreferencedObjects(10)).toEqual([obj(1).key]);
    });
  });
}

export function compactableIndexContract(name: string, make: () => Promise<CompactableIndex>): void {
  describe(`CompactableIndex contract: ${name}`, () => {
    test("smallObjects lists objects by referenced bytes; moveExtents re-points live extents only", async () => {
      const ix = await make();
      await ix.commit(obj(1), [entry("t", 0, 0, 100, 3)]);
      await ix.commit(obj(2), [entry("t", 0, 0, 100, 3), entry("t", 1, 100, 900, 1)]);
      await ix.commit(obj(3), [entry("t", 0, 0, 50, 1)]);
      const small = await ix.smallObjects(200, 10);
      expect(small.map((s) => [s.key, s.extents.length])).toEqual([[obj(1).key, 1], [obj(3).key, 1]]);
      await ix.advanceLogStart("t", 0, 3); // object 1's extent is dropped before the move
      const moved = await ix.moveExtents(obj(9).key, [
        { from: small[0].extents[0], position: 0 },
        { from: small[1].extents[0], position: 100 },
      ]);
      expect(moved).toBe(1);
      expect((await ix.locate("t", 0, 6, 1 << 20)).map((e) => [e.objectKey, e.position, e.baseOffset])).toEqual([
        [obj(9).key, 100, 6],
      ]);
      expect(await ix.unreferencedObjects(10)).toEqual([obj(1).key, obj(3).key]);
      expect(await ix.knownObjects([obj(9).key])).toEqual(new Set([obj(9).key]));
    });
  });
}
