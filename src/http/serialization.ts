import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";
import type { FastifyServerOptions } from "fastify";
import { compileValidator } from "./validation.js";

type SerializerFactory = ReturnType<typeof SerializerSelector>;
type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions["schemaController"]>["compilersFactory"]>;

/**
 * Fastify's own serializers (fast-json-stringify, with the same options and shared schemas), each
 * compiled when its route first sends an answer with that status instead of when the app starts,
 * so a start compiles only what its first answers use.
 */
const lazySerializers: SerializerFactory = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options);
  return (route) => {
    let serialize: ((data: unknown) => string) | undefined;
    return (data: unknown) => {
      serialize ??= compile(route);
      return serialize(data);
    };
  };
};

/**
 * Fastify's `schemaController` option: the contract's validators (validation.ts) and Fastify's
 * serializers, both compiled lazily. Naming the validator compiler here, rather than only with
 * `setValidatorCompiler`, also keeps Fastify from loading its default one (@fastify/ajv-compiler),
 * which no route uses.
 */
export const lazySchemaCompilers: FastifyServerOptions["schemaController"] = {
  compilersFactory: {
    // Fastify types this factory for Ajv-like compilers; a route schema compiler is what it returns.
    buildValidator: (() => compileValidator) as unknown as CompilersFactory["buildValidator"],
    buildSerializer: lazySerializers,
  },
};
