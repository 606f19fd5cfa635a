// Progress for long CLI work: a single updating line on a TTY, silence otherwise (logs stay clean in CI).

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
  const enabled = !!stream.isTTY && total > 20;
  let done = 0;
  let last = 0;
  return {
    tick(item?: string) {
      done++;
      const now = Date.now();
      if (!enabled || (now - last < 80 && done < total)) return;
      last = now;
      stream.write(`\r${label}: ${done}/${total}${item ? ` ${item}` : ''}\x1b[K`);
    },
    done() {
      if (enabled) stream.write(`\r${label}: ${total}/${total} done\x1b[K\n`);
    },
  };
}
