import type { WebhookService } from "../domain/webhooks.js";
import { callerOf } from "./caller.js";
import type { ModuleHandlers } from "./types.js";

export function webhooksHandlers(webhooks: WebhookService): ModuleHandlers<"webhooks"> {
  return {
    async read_all(request) {
      return webhooks.list(callerOf(request));
    },

    async create(request, reply) {
      const { webhook, secret } = await webhooks.create(callerOf(request), request.body);
      reply.code(201).header("cache-control", "no-store").header("location", `/api/webhooks/${webhook.webhook_id}`);
      return { ...webhook, secret };
    },

    async update(request) {
      return webhooks.update(callerOf(request), request.params.webhook_id, request.body);
    },

    async delete(request, reply) {
      await webhooks.delete(callerOf(request), request.params.webhook_id);
      reply.code(204);
      return undefined;
    },

    async rotate_secret(request, reply) {
      const { webhook, secret } = await webhooks.rotateSecret(
        callerOf(request),
        request.params.webhook_id,
        request.body.overlap_hours ?? 24,
      );
      reply.header("cache-control", "no-store");
      return { ...webhook, secret };
    },

    async deliveries(request) {
      return webhooks.deliveries(callerOf(request), request.params.webhook_id, request.query.limit ?? 50);
    },

    async replay(request) {
      return webhooks.replay(callerOf(request), request.params.webhook_id, request.body.from_revision);
    },
  };
}
