/**
 * Bounds a provider stream in time: an idle timer (nothing received for `idleMs`, before the first
 * token or between two) and a total timer. Either one, or the caller's signal, aborts the request,
 * which closes the HTTP stream; the error then says which of the three it was.
 */
import { ProviderError, type ChatProvider, type CompletionChunk } from './providers/types.js';
import type { CompletionRequest } from './providers/types.js';

export interface StreamLimits {
  idleMs: number;
  totalMs: number;
}

type Reason = 'cancelled' | 'stalled' | 'timeout';

function reasonError(reason: Reason, limits: StreamLimits, provider: string): ProviderError {
  if (reason === 'cancelled') return new ProviderError('cancelled', 'Cancelled by the client');
  if (reason === 'stalled') {
    return new ProviderError(
      'provider_stalled',
      `${provider} sent nothing for ${limits.idleMs} ms (TWINMCP_CHAT_IDLE_TIMEOUT_MS)`,
    );
  }
  return new ProviderError(
    'provider_timeout',
    `${provider} did not finish the answer within ${limits.totalMs} ms (TWINMCP_CHAT_TIMEOUT_MS)`,
  );
}

/** The provider's stream under the limits; throws ProviderError (or the provider's own errors). */
export async function* guardedStream(
  provider: ChatProvider,
  req: CompletionRequest,
  signal: AbortSignal,
  limits: StreamLimits,
): AsyncGenerator<CompletionChunk> {
  const controller = new AbortController();
  let reason: Reason | undefined;
  const abort = (why: Reason) => {
    reason ??= why;
    controller.abort();
  };
  const onCancel = () => abort('cancelled');
  signal.addEventListener('abort', onCancel, { once: true });
  if (signal.aborted) abort('cancelled');
  const total = setTimeout(() => abort('timeout'), limits.totalMs);
  const idle = setTimeout(() => abort('stalled'), limits.idleMs);
  try {
    for await (const chunk of provider.stream(req, controller.signal)) {
      if (reason) break;
      idle.refresh();
      yield chunk;
      // The consumer's time is not the provider's silence.
      idle.refresh();
    }
  } catch (err) {
    if (reason) throw reasonError(reason, limits, provider.name);
    throw err;
  } finally {
    clearTimeout(total);
    clearTimeout(idle);
    signal.removeEventListener('abort', onCancel);
    // Ends the request if the consumer stopped early (no-op when it already ended).
    controller.abort();
  }
  if (reason) throw reasonError(reason, limits, provider.name);
}
