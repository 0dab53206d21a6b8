import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temporary directory of executable shell scripts standing in for external tools (unit tests only). */
export class FakeBinDir implements AsyncDisposable {
  private constructor(readonly dir: string) {}

  static async create(): Promise<FakeBinDir> {
    return new FakeBinDir(await mkdtemp(path.join(os.tmpdir(), 'chatim-slo-fakebin-')));
  }

  async script(name: string, body: string): Promise<string> {
    const file = path.join(this.dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
