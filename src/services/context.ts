import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Catalog } from '../catalog/db.js';
import { catalogFailure } from '../catalog/errors.js';
import type { StrataError } from '../core/errors.js';
import { readConfig } from '../core/config.js';
import type { Provider } from '../core/model.js';
import { strataPaths, type StrataPaths } from '../core/paths.js';
import { newProviderId } from '../core/ids.js';
import type { StorageBackend } from '../storage/backend.js';
import { LocalBackend } from '../storage/local.js';

export const LOCAL_PROVIDER_NAME = 'local';

/** Notices a service wants a person to see (warnings, progress); the command decides where. */
export interface Reporter {
  warn(message: string): void;
  /** a line of what is happening (a job's isolation, a dataset created for an output) */
  info(message: string): void;
}

export const silentReporter: Reporter = { warn: () => undefined, info: () => undefined };

/**
 * What a use case needs: the catalog (opened on first use), one storage backend per provider
 * (the S3 SDK is imported only when an S3 provider is touched), and where to report.
 */
export class AppContext {
  private openCatalog?: Catalog;
  private readonly backends = new Map<string, Promise<StorageBackend>>();

  constructor(
    readonly paths: StrataPaths = strataPaths(),
    readonly reporter: Reporter = silentReporter,
    readonly env: NodeJS.ProcessEnv = process.env,
    /** --timeout: give up on a storage endpoint silent this long (else config `timeout`, else 88 s) */
    readonly timeoutMs?: number,
  ) {}

  get catalog(): Catalog {
    if (!this.openCatalog) {
      this.openCatalog = Catalog.open(this.paths.catalog);
      this.ensureLocalProvider(this.openCatalog);
    }
    return this.openCatalog;
  }

  /** This catalog in the bucket's drafts: host and STRATA_HOME, so a rebuilt catalog finds its own. */
  get owner(): string {
    return `${hostname()}:${resolve(this.paths.home)}`;
  }

  /** A failure of this machine's catalog, said in one line; undefined for anything else. */
  explain(error: unknown): StrataError | undefined {
    return catalogFailure(error, this.paths.catalog);
  }

  async backend(provider: Provider): Promise<StorageBackend> {
    let backend = this.backends.get(provider.id);
    if (!backend) {
      const configured = readConfig(this.paths.config).timeout;
      const giveUpMs = this.timeoutMs ?? (configured === undefined ? undefined : Number(configured));
      backend = openBackend(provider, this.env, giveUpMs);
      this.backends.set(provider.id, backend);
    }
    return backend;
  }

  close(): void {
    for (const backend of this.backends.values()) void backend.then((b) => b.close()).catch(() => undefined);
    this.backends.clear();
    this.openCatalog?.close();
    this.openCatalog = undefined;
  }

  /** A fresh machine works with no setup: the `local` provider exists from the first command. */
  private ensureLocalProvider(catalog: Catalog): void {
    if (catalog.providers.byName(LOCAL_PROVIDER_NAME)) return;
    catalog.transaction(() => {
      if (catalog.providers.byName(LOCAL_PROVIDER_NAME)) return;
      catalog.providers.insert({
        id: newProviderId(),
        name: LOCAL_PROVIDER_NAME,
        type: 'local',
        config: { path: this.paths.localStorage },
        createdAt: new Date().toISOString(),
      });
    });
  }
}

/** A backend for a provider; the S3 SDK is loaded only here, only for S3 providers. */
export async function openBackend(
  provider: Provider,
  env: NodeJS.ProcessEnv = process.env,
  giveUpMs?: number,
): Promise<StorageBackend> {
  if (provider.type === 'local') return new LocalBackend(provider.config.path);
  const { S3Backend } = await import('../storage/s3.js');
  return new S3Backend(provider.config, env, { giveUpMs });
}
