// Every implemented API. ApiVersions is computed from this list: nothing is advertised without a handler.
import type { Handler } from "../handler.ts";
import produce from "./00_produce.ts";
import fetch from "./01_fetch.ts";
import listOffsets from "./02_list_offsets.ts";
import metadata from "./03_metadata.ts";
import apiVersions from "./18_api_versions.ts";
import createTopics from "./19_create_topics.ts";
import deleteTopics from "./20_delete_topics.ts";

export const HANDLERS: readonly Handler[] = [
  produce,
  fetch,
  listOffsets,
  metadata,
  apiVersions,
  createTopics,
  deleteTopics,
];
