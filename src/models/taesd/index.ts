export { TaesdDecoder, parseTaesdConfig, relu, type TaesdConfig } from "./taesd.ts";
