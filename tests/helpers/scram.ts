// The SCRAM client for wire tests is the CLI's (one implementation over the broker's primitives).
export { scramClient } from "../../src/client/scram.ts";
