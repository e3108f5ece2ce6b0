export { ClipVisionModel, parseClipVisionConfig, type ClipVisionConfig, type ClipVisionLoadOptions, type ClipVisionOutputs } from "./clip-vision.ts";
export { clipPixelValues, clipPixelValuesFromFloat01, resizeAndCrop, resizeBicubicPillow, shortestEdgeSize, CLIP_MEAN, CLIP_STD, type RgbImage } from "./preprocess.ts";
