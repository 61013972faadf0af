import type { FILENAME_HEADER as ServerFilenameHeader } from '~/server/package-upload.ts';
import { CSRF_HEADER, csrfStore } from '../trpc/csrf-store.ts';
import type { RouterOutputs } from '../trpc/types.ts';

export type UploadedPackage = RouterOutputs['builds']['packages'][number];

const FILENAME_HEADER: typeof ServerFilenameHeader = 'x-binfleet-filename';

/**
 * Sends a .deb to POST /api/packages as the raw request body (XMLHttpRequest: fetch reports no
 * upload progress), with the session's CSRF secret like every mutation. Resolves with the record.
 */
export function uploadPackage(file: File, onProgress: (fraction: number) => void): Promise<UploadedPackage> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/packages');
    xhr.setRequestHeader(CSRF_HEADER, csrfStore.get());
    xhr.setRequestHeader(FILENAME_HEADER, encodeURIComponent(file.name));
    xhr.setRequestHeader('content-type', 'application/vnd.debian.binary-package');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const body = xhr.response as (UploadedPackage & { error?: string }) | null;
      if (xhr.status === 200 || xhr.status === 201) resolve(body as UploadedPackage);
      else reject(new Error(body?.error ?? `The upload failed (HTTP ${xhr.status}).`));
    };
    xhr.onerror = () => reject(new Error('The upload was cut: check the connection and try again.'));
    xhr.send(file);
  });
}
