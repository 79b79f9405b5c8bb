import type { Db } from './db.js';
import type { Provider } from '../core/model.js';

interface Row {
  id: string;
  name: string;
  type: 'local' | 's3';
  config: string;
  created_at: string;
}

const toProvider = (row: Row): Provider =>
  ({
    id: row.id,
    name: row.name,
    type: row.type,
    config: JSON.parse(row.config) as unknown,
    createdAt: row.created_at,
  }) as Provider;

export class ProviderQueries {
  constructor(private readonly db: Db) {}

  list(): Provider[] {
    return (this.db.prepare('SELECT * FROM storage_providers ORDER BY created_at, id').all() as Row[]).map(toProvider);
  }

  get(id: string): Provider | undefined {
    const row = this.db.prepare('SELECT * FROM storage_providers WHERE id = ?').get(id) as Row | undefined;
    return row && toProvider(row);
  }

  byName(name: string): Provider | undefined {
    const row = this.db.prepare('SELECT * FROM storage_providers WHERE name = ?').get(name) as Row | undefined;
    return row && toProvider(row);
  }

  insert(provider: Provider): void {
    this.db
      .prepare('INSERT INTO storage_providers (id, name, type, config, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(provider.id, provider.name, provider.type, JSON.stringify(provider.config), provider.createdAt);
  }

  update(provider: Provider): void {
    this.db
      .prepare('UPDATE storage_providers SET name = ?, config = ? WHERE id = ?')
      .run(provider.name, JSON.stringify(provider.config), provider.id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM storage_providers WHERE id = ?').run(id);
  }

  /** The bucket's garbage-collection generation this catalog's belief about its blobs is from. */
  gcGeneration(id: string): number {
    const row = this.db.prepare('SELECT gc_generation FROM storage_providers WHERE id = ?').pluck().get(id);
    return (row as number | undefined) ?? 0;
  }

  setGcGeneration(id: string, generation: number): void {
    this.db.prepare('UPDATE storage_providers SET gc_generation = ? WHERE id = ?').run(generation, id);
  }

  datasetCount(id: string): number {
    return (
      this.db.prepare('SELECT count(*) AS n FROM datasets WHERE storage_provider_id = ?').get(id) as { n: number }
    ).n;
  }
}
