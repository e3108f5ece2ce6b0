import { toyModelLocation as platformToyModelLocation } from "#platform";

/**
 * Where the embedded toy-shapes pipeline is: its folder in Node (models/toy-shapes in the installed package), a URL
 * beside the browser bundle where the package is served as published. Pass it to `QSchedPipeline.fromPretrained`.
 */
export function toyModelLocation(): string {
  return platformToyModelLocation();
}
