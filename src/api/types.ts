import type { FastifyReply, FastifyRequest } from "fastify";
import type { operations } from "../../openapi/types.js";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : undefined;
type Body<O> = O extends { requestBody: infer R } ? Json<NonNullable<R>> : undefined;
type Params<O> = O extends { parameters: { path: infer P } } ? P : unknown;
/** Validation fills in the contract's defaults, so `limit` (which has one) is always there. */
type WithDefaults<Q> = Q extends { limit?: infer L } ? Omit<Q, "limit"> & { limit: NonNullable<L> } : Q;
type Query<O> = O extends { parameters: { query?: infer Q } } ? WithDefaults<NonNullable<Q>> : unknown;
type SuccessBody<O> = O extends { responses: infer R }
  ? { [K in keyof R]: K extends 200 | 201 ? Json<R[K]> : never }[keyof R]
  : never;

export type OperationId = keyof operations;

/** A handler typed from its operation in the contract: params, query, body and success body. */
export type Handler<K extends OperationId> = (
  request: FastifyRequest<{
    Body: Body<operations[K]>;
    Params: Params<operations[K]>;
    Querystring: Query<operations[K]>;
  }>,
  reply: FastifyReply,
) => Promise<SuccessBody<operations[K]> | undefined>;

/** Every operation of one module ("people.read_all" is people's read_all). */
export type ModuleHandlers<M extends string> = {
  [K in OperationId as K extends `${M}.${infer Name}` ? Name : never]: K extends OperationId ? Handler<K> : never;
};
