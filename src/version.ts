// The package version, for the CLI, logs and the HTTP side.
import pkg from "../package.json" with { type: "json" };

export const VERSION_STRING: string = pkg.version;
