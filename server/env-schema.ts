/**
 * Building blocks for the zod schemas that read environment variables (server/config.ts and the
 * areas' own config modules), so every setting fails the same way, naming its variable.
 */
import { z, type ZodError } from 'zod';

/** A whole number within [min, max], `fallback` when unset. */
export const wholeNumber = (fallback: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .default(fallback)
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be between ${min} and ${max}` });

/** A decimal number within [min, max], `fallback` when unset. */
export const decimalNumber = (fallback: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number')
    .default(fallback)
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be between ${min} and ${max}` });

/** Text, with empty or blank meaning unset. */
export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((s) => (s ? s : undefined));

/** One line per problem, each starting with its variable's name. */
export function envProblems(error: ZodError): string[] {
  return error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
}
