import type { ChatErrorCode } from '../../shared/chat.js';

/** A reason a question ends early, with the code its `error` event carries. */
export class ChatFailure extends Error {
  constructor(
    readonly code: ChatErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChatFailure';
  }
}
