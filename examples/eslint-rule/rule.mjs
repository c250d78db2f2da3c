// An ESLint-style rule: create() must return synchronously.
import { blockingCallInThread } from 'reactor-threads';
import { loadConfig } from './load-config.mjs';

export default {
  meta: { type: 'problem', messages: { banned: '{{name}} is banned in this project' } },
  create(context) {
    const { banned } = blockingCallInThread(loadConfig, context.cwd); // waits here
    return {
      Identifier(node) {
        if (banned.includes(node.name)) context.report({ node, messageId: 'banned', data: { name: node.name } });
      },
    };
  },
};
