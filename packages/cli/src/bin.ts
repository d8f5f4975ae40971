#!/usr/bin/env node
import { main } from './main.js';

// A job process of `experiment` / `worker` stops when the process that runs it dies (even by
// kill -9), so a killed worker leaves no orphan writing into a folder another worker takes over.
if (process.env.SKINGAN_EXIT_WITH_PARENT) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(137);
  }, 1000).unref();
}

process.exitCode = await main(process.argv);
