#!/usr/bin/env node
import './threadpool.js';
import { execute } from '@oclif/core';

await execute({ dir: import.meta.url });
