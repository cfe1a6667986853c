/** Types of generate-client.mjs, for the tests that import it. */
export declare const SCHEMA: string;
export declare const CLIENT_DIR: string;
export declare function generateClient(options?: {
  into?: string;
  edit?: (schema: string) => string;
}): Promise<string>;
export declare function temporaryFolder(): Promise<string>;
