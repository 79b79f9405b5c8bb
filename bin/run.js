#!/usr/bin/env node
import './threadpool.js';
import { execute } from '@oclif/core/execute';

await execute({ dir: import.meta.url });
