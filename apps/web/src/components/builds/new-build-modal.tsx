'use client';
import type { TargetId } from '@binfleet/arch-table';
import {
  Alert,
  FileInput,
  Modal,
  MultiSelect,
  Progress,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { IconAlertTriangle, IconUpload } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { TargetPicker } from '../actions/target-picker.tsx';
import { RepositorySelect, repositoryOptions } from '../catalogue/repository-select.tsx';
import { useTRPC } from '../trpc/client.ts';
import { formatBytes } from '../ui/copy-line.tsx';
import { FormActions } from '../ui/form-actions.tsx';
import { uploadPackage } from './upload-package.ts';

type PackageSource = 'path' | 'upload';

/** The non-empty lines of a text field: one path per line. */
const linesOf = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);

/**
 * Admins: a build of every tag of the scheme from QEMU packages on a builder host, one per host
 * architecture (several make one multi-platform build).
 */
export function NewBuildModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const builders = useQuery(trpc.builds.builders.queryOptions(undefined, { enabled: opened }));
  const registries = useQuery(trpc.registries.list.queryOptions(undefined, { enabled: opened }));
  const [hostId, setHostId] = useState<string | null>(null);
  const [repositoryId, setRepositoryId] = useState<string | null>(null);
  const [source, setSource] = useState<PackageSource>('path');
  const [packagePaths, setPackagePaths] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [uploadedIds, setUploadedIds] = useState<string[]>([]);
  const [busyboxes, setBusyboxes] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const uploads = useQuery(
    trpc.builds.packages.queryOptions(undefined, { enabled: opened && source === 'upload' }),
  );
  const [targets, setTargets] = useState<TargetId[]>([]);
  const [testImage, setTestImage] = useState('');
  const [skipChecks, setSkipChecks] = useState(false);
  const start = useMutation(
    trpc.builds.start.mutationOptions({
      onSuccess: ({ id }) => {
        void queryClient.invalidateQueries({ queryKey: trpc.builds.pathKey() });
        onClose();
        router.push(`/builds/${id}`);
      },
    }),
  );
  const uploading = progress !== null;
  const paths = linesOf(packagePaths);
  const packageChosen = source === 'path' ? paths.length > 0 : files.length + uploadedIds.length > 0;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!hostId || !repositoryId) return;
    let packageIds = uploadedIds;
    if (source === 'upload' && files.length) {
      setUploadError(null);
      try {
        const uploaded: string[] = [];
        for (const [i, file] of files.entries()) {
          setProgress(i / files.length);
          uploaded.push((await uploadPackage(file, (f) => setProgress((i + f) / files.length))).id);
        }
        void queryClient.invalidateQueries({ queryKey: trpc.builds.packages.queryKey() });
        // Kept picked: a failed start does not upload the files again.
        packageIds = [...new Set([...uploadedIds, ...uploaded])];
        setFiles([]);
        setUploadedIds(packageIds);
      } catch (error) {
        setUploadError((error as Error).message);
        return;
      } finally {
        setProgress(null);
      }
    }
    const packages =
      source === 'upload' ? packageIds.map((packageId) => ({ packageId })) : paths.map((path) => ({ path }));
    start.mutate({
      hostId,
      repositoryId,
      // One package the way builds always took it; several as one multi-platform build.
      ...(packages.length === 1
        ? source === 'upload'
          ? { packageId: packageIds[0]! }
          : { packagePath: paths[0]! }
        : { packages }),
      ...(linesOf(busyboxes).length ? { busyboxes: linesOf(busyboxes) } : {}),
      ...(targets.length ? { targets } : {}),
      ...(testImage.trim() ? { testImage: testImage.trim() } : {}),
      ...(skipChecks ? { skipChecks } : {}),
    });
  };
  return (
    <Modal opened={opened} onClose={onClose} title="New build" size="lg">
      <form onSubmit={(e) => void submit(e)}>
        <Stack>
          <Select
            label="Builder host"
            description="an agent with dockerd; it builds, tests and pushes"
            placeholder={builders.isPending ? 'Loading…' : 'Pick a host'}
            data={(builders.data ?? []).map((h) => ({
              value: h.id,
              label: `${h.hostname} (${h.arch ?? '?'}, docker ${h.dockerVersion})${h.online ? '' : ' · offline'}`,
              disabled: !h.online,
            }))}
            value={hostId}
            onChange={setHostId}
            nothingFoundMessage="No host with dockerd has joined"
            required
            data-testid="build-host"
          />
          <SegmentedControl
            aria-label="Where the package comes from"
            value={source}
            onChange={(v) => setSource(v as PackageSource)}
            data={[
              { value: 'path', label: 'Files on the builder' },
              { value: 'upload', label: 'Upload .debs' },
            ]}
            data-testid="build-package-source"
          />
          {source === 'path' ? (
            <Textarea
              label="Paths of the .debs on the builder"
              description="absolute paths on the builder host, one per line: one qemu-user-static package per host architecture the images are for (to send files from here, choose Upload .debs)"
              placeholder={
                '/var/cache/binfleet/qemu-user-static_7.2+dfsg-7_amd64.deb\n/var/cache/binfleet/qemu-user-static_7.2+dfsg-7_arm64.deb'
              }
              value={packagePaths}
              onChange={(e) => setPackagePaths(e.currentTarget.value)}
              autosize
              minRows={2}
              required
              data-testid="build-package"
            />
          ) : (
            <>
              <FileInput
                label="Upload .debs"
                description="qemu-user-static packages, one per host architecture; they are sent to the builder before the build"
                placeholder="Choose files"
                accept=".deb,application/vnd.debian.binary-package"
                leftSection={<IconUpload size={16} />}
                multiple
                value={files}
                onChange={setFiles}
                clearable
                disabled={uploading}
                data-testid="build-package-file"
              />
              <MultiSelect
                label="And earlier uploads"
                placeholder={uploads.isPending ? 'Loading…' : 'Pick uploaded packages'}
                data={(uploads.data ?? []).map((p) => ({
                  value: p.id,
                  label: `${p.filename} · ${p.version} (${p.architecture}) · ${formatBytes(p.size)}`,
                }))}
                value={uploadedIds}
                onChange={setUploadedIds}
                nothingFoundMessage="Nothing uploaded yet"
                clearable
                disabled={uploading}
                data-testid="build-package-uploaded"
              />
              {uploading && (
                <Stack gap={4}>
                  <Text size="sm">Uploading {Math.round(progress * 100)}%</Text>
                  <Progress
                    value={progress * 100}
                    aria-label="Upload progress"
                    data-testid="build-upload-progress"
                  />
                </Stack>
              )}
              {uploadError && (
                <Alert color="red" variant="light" icon={<IconAlertTriangle size={16} />}>
                  {uploadError}
                </Alert>
              )}
            </>
          )}
          <RepositorySelect
            label="Push to"
            placeholder="Pick a repository"
            data={repositoryOptions(registries.data)}
            value={repositoryId}
            onChange={setRepositoryId}
            nothingFoundMessage="Add a registry and repository on the Catalogue page first"
            required
            data-testid="build-repository"
          />
          <Textarea
            label="Busyboxes on the builder"
            description="for the register images of other host architectures: busybox-static .debs or static busybox binaries, one per line and architecture (the builder's own busybox serves its architecture)"
            placeholder="/var/cache/binfleet/busybox-static_1.35.0-4_arm64.deb"
            value={busyboxes}
            onChange={(e) => setBusyboxes(e.currentTarget.value)}
            autosize
            minRows={1}
            data-testid="build-busyboxes"
          />
          <TargetPicker
            label="Emulators"
            description="leave empty for every emulator in the package"
            placeholder="all"
            value={targets}
            onChange={setTargets}
          />
          <TextInput
            label="Test image"
            description="a foreign image on the builder for the container checks (default: the agent's --verify-image)"
            placeholder="arm64v8/busybox"
            value={testImage}
            onChange={(e) => setTestImage(e.currentTarget.value)}
          />
          <Switch
            label="Skip the seed's checks (only for a package this builder cannot run)"
            checked={skipChecks}
            onChange={(e) => setSkipChecks(e.currentTarget.checked)}
          />
          <FormActions
            mutation={start}
            submitLabel="Start build"
            onCancel={onClose}
            loading={start.isPending || uploading}
            disabled={!hostId || !repositoryId || !packageChosen}
          />
        </Stack>
      </form>
    </Modal>
  );
}
