/**
 * The validated configuration, mapped once from convict into frozen typed objects.
 * Components receive the part they need; modules never read convict themselves.
 */

/** One BullMQ queue fed by one poller list and running one flow. */
export interface QueueConfig {
  /** Queue name: BullMQ queue `<name>` and source list `fila:<name>` by default. */
  readonly name: string;
  /** Flow name from the registry. @defaultValue the queue's name */
  readonly flow: string;
  /** List the poller RPUSHes into. @defaultValue `fila:<name>` */
  readonly sourceList: string;
  /** List result entries are RPUSHed to. @defaultValue `fila:resultado` */
  readonly resultList: string;
  /** List invalid items go to. Always `<sourceList>:invalid`. */
  readonly invalidList: string;
  /** Divisor of the scaling rule (with `autoDivisor`, until enough job times exist). @defaultValue scaler.jobsPerWorker */
  readonly jobsPerWorker: number;
  /** `jobsPerWorker: "auto"`: the divisor is T/S, S the queue's observed median job time. @defaultValue false */
  readonly autoDivisor?: boolean;
  /** T of the learned divisor: the backlog should drain in this many seconds. @defaultValue 600 */
  readonly targetDrainSeconds?: number;
  /** Floor of workers kept even when idle. @defaultValue scaler.minWorkers (0) */
  readonly minWorkers: number;
  /** Ceiling of workers for this queue. @defaultValue scaler.maxWorkersPerQueue */
  readonly maxWorkers: number;
  /** Attempts per job (1 = no retry). @defaultValue jobs.attempts */
  readonly attempts: number;
  /** First retry delay; doubles each attempt (exponential backoff). @defaultValue jobs.backoffMs */
  readonly backoffMs: number;
  /** Per-attempt timeout. @defaultValue jobs.timeoutSeconds */
  readonly timeoutSeconds: number;
  /**
   * At most `max` jobs start per `durationMs`, across every worker and instance (BullMQ's Worker
   * limiter, kept in Redis): the operator's hard knob for a portal, beside `maxWorkers`. @defaultValue none
   */
  readonly rateLimit?: { readonly max: number; readonly durationMs: number };
}

/** TLS of the Redis connections (README "Redis in production"). Certificates are verified. */
export interface RedisTlsConfig {
  /** PEM CA bundle that signed the server certificate; empty: Node's built-in CAs. */
  readonly caFile: string;
  /** PEM client certificate, for a server that asks for one; empty: none. */
  readonly certFile: string;
  /** PEM private key of `certFile`. */
  readonly keyFile: string;
  /** Name the server certificate must carry (SNI too); empty: the host connected to. */
  readonly servername: string;
  /** false skips the certificate check (a throw-away test server only). @defaultValue true */
  readonly verify: boolean;
}

/** A sentinel's address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Where Redis is and how to log in: resolved once by the loader from `REDIS_URL` and the separate
 * keys (the URL wins for every part it states). The optional fields are absent for a plain
 * host/port connection.
 */
export interface RedisConfig {
  /** Ignored with `sentinels`. */
  readonly host: string;
  /** Ignored with `sentinels`. */
  readonly port: number;
  readonly db: number;
  readonly password: string;
  /** Key prefix of everything the service keeps in Redis (BullMQ's, the pool's, `rpa:*`). @defaultValue 'bull' */
  readonly prefix: string;
  /** ACL user; empty or absent: the `default` user. */
  readonly username?: string;
  /** TLS settings; absent: plain TCP. */
  readonly tls?: RedisTlsConfig;
  /** Sentinels to ask for the master `sentinelName`; absent or empty: connect to host:port. */
  readonly sentinels?: readonly HostPort[];
  readonly sentinelName?: string;
  readonly sentinelPassword?: string;
  /** Replicas that must acknowledge a result entry / bridged batch (WAIT); 0 or absent: none. */
  readonly waitReplicas?: number;
  /** Longest such WAIT. @defaultValue 1000 */
  readonly waitTimeoutMs?: number;
}

export interface BrowserConfig {
  /** Empty: Playwright's own Chromium, else a system one (chromium-headless-shell, chromium). */
  readonly executablePath: string;
  readonly headless: boolean;
  /** Extra Chromium flags, added to the ones this environment needs. */
  readonly args: readonly string[];
  /** Launch timeout. */
  readonly launchTimeoutMs: number;
  /** Relaunch the browser after this many jobs (0 = never). */
  readonly recycleAfterJobs: number;
  /** Relaunch the browser, between jobs, when its whole process tree's PSS passes this many MB (0 = never). */
  readonly maxMemoryMb: number;
  /** Full garbage collection in the page's renderer every this many jobs (0 = never). */
  readonly collectGarbageEveryJobs: number;
  /** Measure the process tree (for `maxMemoryMb` and /metrics) every this many jobs (0 = never). */
  readonly memoryCheckEveryJobs: number;
}

/** How many units the machine can run (src/capacity); `enabled: false` gives the plain rule. */
export interface CapacityConfig {
  /** false: no capacity bound, the plain rule. */
  readonly enabled: boolean;
  /** Half-life, in busy unit-seconds, of the measured CPU per busy unit of each queue. */
  readonly unitCpuHalfLifeSeconds: number;
  /** Busy unit-seconds a queue needs before its measured CPU per unit bounds it (before: the rule and the gate). */
  readonly unitCpuMinBusySeconds: number;
  /** Never below this many units, whatever the load (work keeps moving). */
  readonly minUnits: number;
  /** This instance's own ceiling (0 = none beyond the scaler's caps). */
  readonly maxUnits: number;
  /**
   * Browsers launching at once on this instance (0 = one per two cores: a launch keeps about two
   * busy); the next unit's launch waits for one to finish, so a burst's first units work while the
   * rest launch, and a unit the capacity bound cuts before its turn never launches. Before a queue
   * has a measurement, its launches pause while the units at work leave under half a core free.
   */
  readonly maxLaunching: number;
  /** A sample whose CPU use reaches this share is overloaded. */
  readonly maxCpuRatio: number;
  /**
   * Share of the cores the units may always use, however busy other processes keep the machine:
   * units that barely use the CPU (waiting on a portal) keep running beside a busy neighbour,
   * browsers that fill a core yield to it.
   */
  readonly minFreeCpuRatio: number;
  /** A sample whose memory use reaches this share of the limit is overloaded. */
  readonly maxMemoryRatio: number;
  /** A sample whose event-loop delay p99 reaches this is overloaded. */
  readonly maxEventLoopDelayMs: number;
  /** Share of overloaded samples in the short window that closes the start gate. */
  readonly overloadedRatio: number;
  readonly shortWindowSeconds: number;
  readonly longWindowSeconds: number;
  /** Budget for all browsers of this instance (0 = the machine's headroom only). */
  readonly maxMemoryMb: number;
  /** Assumed PSS of one browser until one has been measured. */
  readonly unitMemoryMb: number;
  /** Memory left for everything else (Node, the OS, page cache). */
  readonly reserveMemoryMb: number;
  /** Learned divisor: samples needed before it applies. */
  readonly minJobSamples: number;
}

export interface AlertRule {
  readonly name: string;
  readonly kind:
    | 'workersAbove'
    | 'backlogAbove'
    | 'failureRatioAbove'
    | 'bridgeStuckAbove'
    | 'invalidAbove'
    | 'deadlineAtRisk'
    | 'invalidListFillAbove';
  /** Queue the rule watches; empty: all queues together. */
  readonly queue: string;
  /**
   * Workers, jobs, ratio (0..1), seconds (bridgeStuckAbove), invalid items (invalidAbove) or items
   * at risk (deadlineAtRisk: fires above it; 0 = any) depending on kind.
   */
  readonly threshold: number;
  /**
   * For backlogAbove and deadlineAtRisk: how long the breach must last; for failureRatioAbove and
   * invalidAbove: the window.
   */
  readonly forSeconds: number;
}

export interface AppConfig {
  readonly env: string;
  readonly redis: RedisConfig;
  readonly portal: { readonly url: string; readonly user: string; readonly password: string };
  readonly browser: BrowserConfig;
  readonly http: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    readonly auth: { readonly user: string; readonly password: string };
  };
  readonly log: {
    readonly level: string;
    readonly file: string;
    readonly format: 'text' | 'json';
    /** Rotate the file at this size (0: never). @defaultValue 50 */
    readonly maxSizeMb: number;
    /** Files kept by the rotation, the current one included. @defaultValue 5 */
    readonly maxFiles: number;
  };
  readonly scaler: {
    readonly intervalSeconds: number;
    readonly jobsPerWorker: number;
    readonly minWorkers: number;
    readonly maxWorkersPerQueue: number;
    readonly maxTotalWorkers: number;
    /** Scale-down waits until the excess has lasted this long. @defaultValue intervalSeconds */
    readonly stabilizationSeconds: number;
    /** Early evaluation after the bridge moved items, at most this often. */
    readonly debounceMs: number;
    /** winston level of `[EQUILIBRIO]` lines. @defaultValue 'debug' */
    readonly equilibriumLogLevel: string;
    /** Entries kept in the decision stream (MAXLEN ~). */
    readonly historyMaxLen: number;
    /** Stalled-job check interval of the per-queue janitor. */
    readonly stalledIntervalMs: number;
  };
  readonly capacity: CapacityConfig;
  readonly bridge: {
    /** Max items moved per batch. */
    readonly batchSize: number;
    /** Items larger than this are set aside inside Redis and go to the invalid list (at most 64 MiB). */
    readonly maxItemBytes: number;
    /** Most bytes of items one batch reads into the service (at least one item). */
    readonly maxBatchBytes: number;
    /** Oversized items whose exact bytes are kept in `<invalidList>:oversized`... */
    readonly oversizedMaxItems: number;
    /** ...and their bytes in all; past either bound an oversized item's bytes are dropped (counted). */
    readonly oversizedMaxBytes: number;
    /** Entries kept in the invalid list; past it the oldest are dropped (logged, counted). */
    readonly invalidMaxItems: number;
    /** Bytes (Redis MEMORY USAGE) of the invalid list; past it the oldest entries are dropped. */
    readonly invalidMaxBytes: number;
    /** Above this many waiting jobs the bridge stops moving (back-pressure); 0 = no limit. */
    readonly maxWaiting: number;
    /** An idle bridge (empty list) goes round its loop at least this often. */
    readonly blockSeconds: number;
    /**
     * Owner of this instance's processing lists, unique among running bridges.
     * @defaultValue `instance.id` (host name and pid): set `BRIDGE_ID` for one stable across restarts
     */
    readonly id: string;
  };
  readonly jobs: {
    readonly attempts: number;
    readonly backoffMs: number;
    readonly timeoutSeconds: number;
    /**
     * The duplicate window: for this long after a job completed, an item with its id is a
     * duplicate (CONTRACT.md "Job payload and identity"). Past `keepCompletedJobSeconds` only the
     * id is kept (`src/workers/completed-ids.ts`).
     */
    readonly keepCompletedSeconds: number;
    /** The whole completed job (payload, result; Bull Board, `items history`) is kept this long, at most `keepCompletedSeconds`. */
    readonly keepCompletedJobSeconds: number;
    readonly keepFailedSeconds: number;
    /** BullMQ lock duration: a job whose worker died is stalled after this. */
    readonly lockSeconds: number;
  };
  /** This instance among those sharing one Redis (CONTRACT.md "Several instances"). */
  readonly instance: {
    /** Unique among live instances. @defaultValue `<hostname>-<pid>` */
    readonly id: string;
    /** Most units this instance may run. @defaultValue scaler.maxTotalWorkers */
    readonly maxWorkers: number;
    /** Heartbeat interval; silent for 3 beats = dead. @defaultValue 2000 */
    readonly heartbeatMs: number;
  };
  readonly artifactsDir: string;
  /** Retention of the artifacts folder (workers/artifact-sweeper.ts); the age bound is jobs.keepFailedSeconds. */
  readonly artifacts: {
    /** Most MiB the folder may hold, oldest files deleted first (0: no size bound). @defaultValue 1024 */
    readonly maxMb: number;
    /** @defaultValue 600 */
    readonly sweepIntervalSeconds: number;
  };
  readonly shutdown: { readonly timeoutSeconds: number };
  /** The pool history in Redis (src/history/). */
  readonly metrics: {
    /** Buckets expire this many days after they end. @defaultValue 7 */
    readonly retentionDays: number;
  };
  readonly alerts: {
    readonly webhookUrl: string;
    readonly cooldownSeconds: number;
    readonly evaluateSeconds: number;
    readonly rules: readonly AlertRule[];
  };
  readonly queues: readonly QueueConfig[];
}
