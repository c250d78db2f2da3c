// Imports the package entry named by argv[2], a copy with no loadable
// addon, and catches the failure; the process should go on and exit 0.
import { pathToFileURL } from 'node:url';

try {
  await import(pathToFileURL(process.argv[2]!).href);
  console.log(JSON.stringify({ imported: true }));
} catch (e) {
  console.log(JSON.stringify({ caught: (e as Error).message }));
}
