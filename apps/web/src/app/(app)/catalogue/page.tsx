import { CatalogueScreen } from '~/components/catalogue/catalogue-screen.tsx';

export const metadata = { title: 'Catalogue' };

export default function CataloguePage() {
  return <CatalogueScreen />;
}
