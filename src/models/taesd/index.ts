export { TaesdDecoder, parseTaesdConfig, type TaesdConfig } from "./taesd.ts";
