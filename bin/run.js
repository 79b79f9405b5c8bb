#!/usr/bin/env node
import './threadpool.js';
import { execute } from '../dist/cli.js';

await execute({ dir: import.meta.url });
