const SINGULAR: Record<string, string> = { versions: 'version', tags: 'tag', files: 'file' };

/** The singular slips people type (`datasets version commit`) for a command id like datasets:versions:commit. */
export function singularAliases(id: string): string[] {
  const parts = id.split(':');
  const topic = parts[1];
  if (topic === undefined || !(topic in SINGULAR)) return [];
  return [[parts[0], SINGULAR[topic], ...parts.slice(2)].join(':')];
}
