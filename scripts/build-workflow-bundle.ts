/** `npm run build`: prebuilds the workflow bundle (workers/workflow-bundle.ts). */
import path from 'node:path';
import { buildWorkflowBundle } from '../workers/workflow-bundle';

buildWorkflowBundle().then(
  (file) => console.log(`workflow bundle written to ${path.relative(process.cwd(), file)}`),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
