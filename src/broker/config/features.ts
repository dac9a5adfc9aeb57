// Feature versions (KIP-584): what this broker supports, the finalized levels ApiVersions v3+
// reports, and UpdateFeatures' rules (FeatureControlManager's messages).
//
// One node is its own controller, so updates apply at once. In a cluster (PostgreSQL) the levels are part of
// the admin document every broker shares: an update reads them as stored first, and every broker adopts
// levels stored at a later epoch within broker.heartbeat.interval.ms (config/index.ts), as Kafka's brokers
// follow the finalized features in the metadata log. metadata.version and kraft.version are
// not listed: there is no KRaft quorum here. group.version 1 (the KIP-848 consumer protocol) is
// offered only when ConsumerGroupHeartbeat is implemented. transaction.version 2 (KIP-890 part 2:
// partitions and offsets added implicitly, the producer epoch bumped by every EndTxn v5) is
// finalized on a new cluster, as Kafka 4.x does; a data dir from before keeps the levels it stored.
// transaction.version 1 is accepted but changes nothing here (part 1's verification is always on).
// share.version 1 turns share groups (KIP-932) on; as in Kafka 4.1, where they are a preview, it is
// not finalized by default (kafka-features upgrade --feature share.version=1, or UpdateFeatures).
import { ErrorCode } from "../../protocol/errors.ts";

export type FeaturesSnapshot = { epoch: number; levels: Record<string, number> };
export type FeatureUpdate = { feature: string; maxVersionLevel: number; upgradeType: number };
type Outcome = { errorCode: number; errorMessage: string | null };

export const UpgradeType = { UPGRADE: 1, SAFE_DOWNGRADE: 2, UNSAFE_DOWNGRADE: 3 } as const;

export class Features {
  readonly supported: ReadonlyMap<string, { min: number; max: number }>;
  private levels = new Map<string, number>();
  /** Bumped on every change; ApiVersions' finalizedFeaturesEpoch. */
  epoch = 0n;
  private readonly nodeId: number;
  onChange: () => Promise<void> = async () => {};
  /**
   * Runs one change (the broker wires it to the admin store: in a cluster it first adopts the stored state and
   * runs the change again if another broker stored one meanwhile).
   */
  transact: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn();

  /** `apiKeys`: the implemented API keys (features follow from them). */
  constructor(apiKeys: ReadonlySet<number>, nodeId: number) {
    this.nodeId = nodeId;
    const groupVersion = apiKeys.has(68) ? 1 : 0;
    this.supported = new Map([
      ["group.version", { min: 0, max: groupVersion }],
      ["transaction.version", { min: 0, max: 2 }],
      ["share.version", { min: 0, max: apiKeys.has(76) ? 1 : 0 }],
    ]);
    if (groupVersion > 0) this.levels.set("group.version", groupVersion);
    this.levels.set("transaction.version", 2);
  }

  /** Caps what this broker offers of a feature (and its level), e.g. transaction.version in a cluster. */
  cap(name: string, max: number): void {
    const s = this.supported.get(name);
    if (!s) return;
    (this.supported as Map<string, { min: number; max: number }>).set(name, { min: s.min, max: Math.min(s.max, max) });
    if (this.level(name) > max) {
      if (max === 0) this.levels.delete(name);
      else this.levels.set(name, max);
    }
  }

  /** Finalized features at a level above 0 (0 means "not finalized" and is left out, as in Kafka). */
  finalized(): { name: string; maxVersionLevel: number; minVersionLevel: number }[] {
    return [...this.levels].filter(([, l]) => l > 0).sort(([a], [b]) => a < b ? -1 : 1).map(([name, l]) => ({
      name,
      maxVersionLevel: l,
      minVersionLevel: l,
    }));
  }

  level(name: string): number {
    return this.levels.get(name) ?? 0;
  }

  /** Validates all updates; applies them (all or none) unless `validateOnly`. */
  update(updates: readonly FeatureUpdate[], validateOnly: boolean): Promise<Outcome> {
    return this.transact(() => this.updateNow(updates, validateOnly));
  }

  private async updateNow(updates: readonly FeatureUpdate[], validateOnly: boolean): Promise<Outcome> {
    const seen = new Set<string>();
    for (const u of updates) {
      if (seen.has(u.feature)) {
        return {
          errorCode: ErrorCode.INVALID_REQUEST,
          errorMessage: `The request contains multiple updates for the feature ${u.feature}.`,
        };
      }
      seen.add(u.feature);
      const err = this.check(u);
      if (err) {
        return {
          errorCode: ErrorCode.INVALID_UPDATE_VERSION,
          errorMessage: `Invalid update version ${u.maxVersionLevel} for feature ${u.feature}. ${err}`,
        };
      }
    }
    if (validateOnly || updates.length === 0) return { errorCode: ErrorCode.NONE, errorMessage: null };
    for (const u of updates) {
      if (u.maxVersionLevel === 0) this.levels.delete(u.feature);
      else this.levels.set(u.feature, u.maxVersionLevel);
    }
    this.epoch++;
    await this.onChange();
    return { errorCode: ErrorCode.NONE, errorMessage: null };
  }

  private check(u: FeatureUpdate): string | null {
    if (u.upgradeType < 1 || u.upgradeType > 3) return `Unknown upgrade type ${u.upgradeType}.`;
    if (u.maxVersionLevel < 0) return "A feature version cannot be less than 0.";
    const s = this.supported.get(u.feature);
    if (!s) return `The controller does not support the given feature.`;
    if (u.maxVersionLevel !== 0 && (u.maxVersionLevel < s.min || u.maxVersionLevel > s.max)) {
      return `Local controller ${this.nodeId} only supports versions ${s.min}-${s.max}`;
    }
    if (u.maxVersionLevel < this.level(u.feature) && u.upgradeType === UpgradeType.UPGRADE) {
      return "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.";
    }
    return null;
  }

  snapshot(): FeaturesSnapshot {
    return { epoch: Number(this.epoch), levels: Object.fromEntries(this.levels) };
  }

  restore(s: FeaturesSnapshot): void {
    this.levels = new Map();
    for (const [k, v] of Object.entries(s.levels)) {
      const sup = this.supported.get(k);
      // A level this build no longer supports is clamped rather than refusing to start.
      if (sup) this.levels.set(k, Math.min(v, sup.max));
    }
    this.epoch = BigInt(s.epoch);
  }
}
